-- 0001-schema: the whole schema of apitokend (SPEC.md), MariaDB 10.11.
--
-- Applied once by the migration runner, in its own connection, to the
-- database it connects to.  The runner owns the table schema_migrations.
-- Plain DDL only: no USE, no DELIMITER, no routines, no triggers, no data.
--
-- Conventions (docs/database.md says more):
--   * every time is UTC, DATETIME(3), written by the application
--     (UTC_TIMESTAMP(3) or a value it formats itself), never defaulted
--     by the server, whose session time zone may be local
--   * ids are the platform's fixed-shape strings (TKN-dddd-dddd ...),
--     checked by CHECK constraints with a case-sensitive regexp
--   * audit_records is append-only: the application user is granted only
--     SELECT and INSERT on it, and no foreign key cascades into it
--   * no statement or comment in this file contains a semicolon except
--     as a statement terminator, so a naive splitter works too

CREATE TABLE accounts (
	id		CHAR(13) NOT NULL COMMENT 'ACC-dddd-dddd',
	name		VARCHAR(200) NOT NULL,
	type		ENUM('Client','Vendor','Operations') NOT NULL,
	status		ENUM('Active','Disabled') NOT NULL DEFAULT 'Active',
	created_at	DATETIME(3) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT accounts_id_shape CHECK (id REGEXP '^(?-i)ACC-[0-9]{4}-[0-9]{4}$')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Companies: Client, Vendor, or the platform operator (Operations)';

CREATE TABLE users (
	id		CHAR(13) NOT NULL COMMENT 'USR-dddd-dddd',
	account_id	CHAR(13) NOT NULL,
	name		VARCHAR(200) NOT NULL,
	email		VARCHAR(254) NULL COMMENT 'unique when present, several users may have none',
	status		ENUM('Active','Disabled') NOT NULL DEFAULT 'Active',
	created_at	DATETIME(3) NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY users_email (email),
	KEY users_account (account_id),
	CONSTRAINT users_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id),
	CONSTRAINT users_id_shape CHECK (id REGEXP '^(?-i)USR-[0-9]{4}-[0-9]{4}$')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='People, each in one account';

CREATE TABLE modules (
	id		CHAR(8) NOT NULL COMMENT 'MOD-dddd',
	code		VARCHAR(64) NOT NULL COMMENT 'stable key the code refers to, e.g. access-management',
	name		VARCHAR(200) NOT NULL,
	description	VARCHAR(1000) NULL,
	account_types	SET('Client','Vendor','Operations') NOT NULL COMMENT 'types of account that may have the module enabled',
	revision	INT UNSIGNED NOT NULL DEFAULT 1,
	PRIMARY KEY (id),
	UNIQUE KEY modules_code (code),
	CONSTRAINT modules_id_shape CHECK (id REGEXP '^(?-i)MOD-[0-9]{4}$'),
	CONSTRAINT modules_code_shape CHECK (code REGEXP '^(?-i)[a-z0-9]+(-[a-z0-9]+)*$')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Module catalogue: parts of the platform an account, user or token may hold';

CREATE TABLE module_paths (
	module_id	CHAR(8) NOT NULL,
	path_prefix	VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
			COMMENT 'API path the module grants, with everything below it. Compared byte for byte (case-sensitive). A prefix without a trailing slash ends at a segment boundary: /a/b covers /a/b and /a/b/x but not /a/bc',
	PRIMARY KEY (module_id, path_prefix),
	CONSTRAINT module_paths_module_fk FOREIGN KEY (module_id) REFERENCES modules (id) ON DELETE CASCADE,
	CONSTRAINT module_paths_shape CHECK (path_prefix LIKE '/%')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='API path prefixes each module grants (the verify endpoint checks them)';

CREATE TABLE account_modules (
	account_id	CHAR(13) NOT NULL,
	module_id	CHAR(8) NOT NULL,
	PRIMARY KEY (account_id, module_id),
	KEY account_modules_module (module_id),
	CONSTRAINT account_modules_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE,
	CONSTRAINT account_modules_module_fk FOREIGN KEY (module_id) REFERENCES modules (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Modules enabled for an account (the most its users and tokens may hold)';

CREATE TABLE user_modules (
	user_id		CHAR(13) NOT NULL,
	module_id	CHAR(8) NOT NULL,
	PRIMARY KEY (user_id, module_id),
	KEY user_modules_module (module_id),
	CONSTRAINT user_modules_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT user_modules_module_fk FOREIGN KEY (module_id) REFERENCES modules (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Modules a user holds (access-management makes an account administrator)';

CREATE TABLE tokens (
	id		CHAR(13) NOT NULL COMMENT 'TKN-dddd-dddd',
	account_id	CHAR(13) NOT NULL,
	name		VARCHAR(200) NOT NULL,
	description	VARCHAR(2000) NULL,
	status		ENUM('Active','Disabled','Deleted') NOT NULL DEFAULT 'Active',
	secret_hash	BINARY(32) NULL COMMENT 'keyed BLAKE2b-256 of the whole token value, NULL once Deleted',
	sealed		VARBINARY(128) NULL COMMENT 'nonce(24) + XChaCha20-Poly1305 of the value with the id as AD (122 bytes), NULL when reveal = never or Deleted',
	seal_key_id	INT UNSIGNED NULL COMMENT 'N of the key file seal.N key that made sealed',
	has_icon	BOOLEAN NOT NULL DEFAULT FALSE COMMENT 'true when token_icons has a row for the token',
	last_access_at	DATETIME(3) NULL COMMENT 'last successful verify, written at most once a minute, changes neither revision nor audit',
	revision	INT UNSIGNED NOT NULL DEFAULT 1 COMMENT 'ETag, 1 at creation, +1 with every audited change',
	-- audit: the latest occurrence of each event kind (SPEC 4 audit object),
	-- by = the user or token that acted (USR-... or TKN-...), its name then
	created_at	DATETIME(3) NOT NULL,
	created_by_id	VARCHAR(13) NOT NULL,
	created_by_name	VARCHAR(200) NOT NULL,
	updated_at	DATETIME(3) NULL,
	updated_by_id	VARCHAR(13) NULL,
	updated_by_name	VARCHAR(200) NULL,
	enabled_at	DATETIME(3) NULL,
	enabled_by_id	VARCHAR(13) NULL,
	enabled_by_name	VARCHAR(200) NULL,
	disabled_at	DATETIME(3) NULL,
	disabled_by_id	VARCHAR(13) NULL,
	disabled_by_name VARCHAR(200) NULL,
	deleted_at	DATETIME(3) NULL,
	deleted_by_id	VARCHAR(13) NULL,
	deleted_by_name	VARCHAR(200) NULL,
	PRIMARY KEY (id),
	-- list of one account, newest first (ORDER BY created_at DESC, id DESC):
	-- an equality on account_id, then the order, then status so that
	-- status <> 'Deleted' is checked in the index without reading rows
	KEY tokens_account_created (account_id, created_at, id, status),
	-- Operations list across all accounts, newest first
	KEY tokens_created (created_at, id),
	CONSTRAINT tokens_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id),
	CONSTRAINT tokens_id_shape CHECK (id REGEXP '^(?-i)TKN-[0-9]{4}-[0-9]{4}$'),
	-- Deleted exactly when the secret is gone and the deletion is recorded
	CONSTRAINT tokens_secret_state CHECK ((status = 'Deleted') = (secret_hash IS NULL)),
	CONSTRAINT tokens_deleted_state CHECK ((status = 'Deleted') = (deleted_at IS NOT NULL)),
	CONSTRAINT tokens_sealed_state CHECK ((sealed IS NULL) = (seal_key_id IS NULL)),
	CONSTRAINT tokens_sealed_deleted CHECK (status <> 'Deleted' OR sealed IS NULL),
	CONSTRAINT tokens_revision CHECK (revision >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='API tokens. Soft delete: a Deleted row stays, its secret columns NULL';

CREATE TABLE token_icons (
	token_id	CHAR(13) NOT NULL,
	content_type	VARCHAR(32) NOT NULL COMMENT 'from the magic bytes, not from the client',
	data		MEDIUMBLOB NOT NULL,
	updated_at	DATETIME(3) NOT NULL,
	PRIMARY KEY (token_id),
	CONSTRAINT token_icons_token_fk FOREIGN KEY (token_id) REFERENCES tokens (id) ON DELETE CASCADE,
	CONSTRAINT token_icons_type CHECK (content_type IN ('image/png','image/jpeg')),
	CONSTRAINT token_icons_size CHECK (LENGTH(data) BETWEEN 1 AND 5242880)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Token logos, kept apart so that token rows stay small';

CREATE TABLE token_modules (
	token_id	CHAR(13) NOT NULL,
	module_id	CHAR(8) NOT NULL,
	PRIMARY KEY (token_id, module_id),
	KEY token_modules_module (module_id),
	CONSTRAINT token_modules_token_fk FOREIGN KEY (token_id) REFERENCES tokens (id) ON DELETE CASCADE,
	CONSTRAINT token_modules_module_fk FOREIGN KEY (module_id) REFERENCES modules (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Modules a token holds, a subset of its account modules (kept so by the application)';

CREATE TABLE account_token_counts (
	account_id	CHAR(13) NOT NULL,
	tokens		INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'tokens not Deleted: the unfiltered list total of Client and Vendor callers',
	tokens_all	INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'all tokens, Deleted included: the unfiltered list total of Operations callers',
	PRIMARY KEY (account_id),
	CONSTRAINT account_token_counts_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE,
	CONSTRAINT account_token_counts_order CHECK (tokens <= tokens_all)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Token counters per account, kept by the application in the same transaction as each create and delete (no row = 0)';

CREATE TABLE audit_records (
	id		CHAR(23) NOT NULL COMMENT 'AUD-dddd-dddd-dddd-dddd',
	account_id	CHAR(13) NOT NULL COMMENT 'account whose chain holds the record: the object account, or the caller account for POSTed records',
	seq		BIGINT UNSIGNED NOT NULL COMMENT 'position in that account chain, 1 for the first record',
	event		VARCHAR(255) NOT NULL COMMENT 'platform.accounts.api-token.created ... or extensions.<name>.<event>',
	timestamp	DATETIME(3) NOT NULL,
	summary		VARCHAR(1000) NOT NULL,
	details		TEXT NULL COMMENT 'may hold {{path}} placeholders that render() fills in',
	object_id	VARCHAR(64) NOT NULL,
	object_name	VARCHAR(255) NULL COMMENT 'the object name at the time of the event',
	object_type	VARCHAR(64) NOT NULL COMMENT 'ApiToken for token events',
	object_revision	INT UNSIGNED NULL COMMENT 'the object revision after the event',
	actor_id	VARCHAR(32) NOT NULL COMMENT 'USR-... or TKN-... that acted',
	actor_name	VARCHAR(200) NOT NULL,
	actor_account_id CHAR(13) NOT NULL,
	actor_account_name VARCHAR(200) NOT NULL,
	request_ip	VARCHAR(64) NULL,
	request_user_agent VARCHAR(1024) NULL COMMENT 'cut to 1024 characters by the application',
	request_id	VARCHAR(64) NULL COMMENT 'traceId of the request',
	documents	LONGTEXT NULL COMMENT 'JSON object, e.g. {"before":...,"after":...}, secrets always masked. Stored verbatim, the hash covers these bytes',
	prev_hash	BINARY(32) NOT NULL COMMENT 'hash of record seq - 1 of the same account, 32 zero bytes for seq 1',
	hash		BINARY(32) NOT NULL COMMENT 'BLAKE2b-256 over the record content and prev_hash',
	PRIMARY KEY (id),
	UNIQUE KEY audit_records_chain (account_id, seq),
	KEY audit_records_object (object_id, timestamp, id),
	KEY audit_records_account (account_id, timestamp, id),
	KEY audit_records_time (timestamp, id),
	KEY audit_records_actor (actor_id, timestamp, id),
	KEY audit_records_event (event, timestamp, id),
	-- RESTRICT (the default) on purpose: nothing may delete records by cascade
	CONSTRAINT audit_records_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id),
	CONSTRAINT audit_records_id_shape CHECK (id REGEXP '^(?-i)AUD-[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{4}$'),
	CONSTRAINT audit_records_seq CHECK (seq >= 1),
	CONSTRAINT audit_records_documents CHECK (documents IS NULL OR JSON_VALID(documents))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Immutable audit trail, one hash chain per account. Application user: SELECT and INSERT only';

CREATE TABLE audit_chain_heads (
	account_id	CHAR(13) NOT NULL,
	seq		BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'seq of the newest record of the account, 0 before the first',
	hash		BINARY(32) NOT NULL DEFAULT X'0000000000000000000000000000000000000000000000000000000000000000'
			COMMENT 'hash of that record, 32 zero bytes before the first',
	PRIMARY KEY (account_id),
	CONSTRAINT audit_chain_heads_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='Head of each account audit chain, locked FOR UPDATE by every writer of a record';
