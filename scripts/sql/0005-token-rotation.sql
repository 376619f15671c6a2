-- 0005-token-rotation: a new value under the same token id, with a window
-- in which the value it replaced still verifies.
--
-- prev_secret_hash is the hash of the value before the latest rotation,
-- kept only while prev_valid_until is ahead (verify compares the time; the
-- columns may stay behind after it, until the next rotation or the
-- delete). rotated_* is the token's audit.rotated, like the other events.

ALTER TABLE tokens
	ADD COLUMN prev_secret_hash BINARY(32) NULL
	COMMENT 'keyed BLAKE2b-256 of the value before the latest rotation, NULL when none verifies',
	ADD COLUMN prev_valid_until DATETIME(3) NULL
	COMMENT 'the previous value verifies while this is ahead of UTC_TIMESTAMP(3)',
	ADD COLUMN rotated_at DATETIME(3) NULL,
	ADD COLUMN rotated_by_id VARCHAR(13) NULL,
	ADD COLUMN rotated_by_name VARCHAR(200) NULL,
	-- a Deleted token keeps no secret material, the previous value included
	ADD CONSTRAINT tokens_prev_deleted CHECK (status <> 'Deleted' OR prev_secret_hash IS NULL),
	ADD CONSTRAINT tokens_prev_window CHECK ((prev_secret_hash IS NULL) = (prev_valid_until IS NULL));
