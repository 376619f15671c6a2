-- 0006-token-usage: the last client addresses each token was used from.
--
-- Written after the answer of a request that succeeded, at most once a
-- minute per token and address; the application keeps the 10 most recent
-- addresses of a token and deletes the older ones.

CREATE TABLE token_usage (
	token_id	CHAR(13) NOT NULL,
	ip		VARCHAR(45) NOT NULL COMMENT 'canonical text (inet_ntop), IPv4-mapped IPv6 as IPv4',
	first_seen_at	DATETIME(3) NOT NULL,
	last_seen_at	DATETIME(3) NOT NULL,
	PRIMARY KEY (token_id, ip),
	-- newest first, and the ones past the tenth
	KEY token_usage_recent (token_id, last_seen_at),
	CONSTRAINT token_usage_token_fk FOREIGN KEY (token_id) REFERENCES tokens (id) ON DELETE CASCADE,
	CONSTRAINT token_usage_seen CHECK (first_seen_at <= last_seen_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Last-used client addresses of tokens; no revision, no audit';
