-- 0004-token-restrictions: expiry, not-before, IP allowlist and rate limit
-- of a token, and the longest life an account lets its tokens have.
--
-- Every column is NULL for "none", so tokens made before keep working as
-- they did. verify reads them in the same round trip as the token.

ALTER TABLE tokens
	ADD COLUMN expires_at DATETIME(3) NULL
		COMMENT 'UTC; verify refuses the token from then on (status shows Expired)',
	ADD COLUMN not_before DATETIME(3) NULL
		COMMENT 'UTC; verify refuses the token before then',
	ADD COLUMN allowed_ips VARCHAR(4096) NULL
		COMMENT 'canonical addresses and CIDR ranges, comma-separated; NULL: any address',
	ADD COLUMN rate_limit INT UNSIGNED NULL
		COMMENT 'requests per minute, one of the nginx tiers; NULL: no limit',
	ADD CONSTRAINT tokens_validity CHECK (not_before IS NULL OR expires_at IS NULL
		OR not_before < expires_at);

ALTER TABLE accounts
	ADD COLUMN max_token_lifetime INT UNSIGNED NULL
		COMMENT 'seconds; set with apitokenctl account lifetime; NULL: no maximum';
