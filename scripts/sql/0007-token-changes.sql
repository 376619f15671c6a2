-- 0007-token-changes: the change counter behind apitokend's verify cache.
--
-- One row. Every change an answer of verify depends on (a token's status,
-- secret, name or modules; an account's modules, a module's paths) adds
-- one to n in its own transaction. Each apitokend process reads n at most
-- once a second and drops every cached token when it moved, so a change
-- made through any instance stops the old answer everywhere within that
-- second.

CREATE TABLE token_changes (
	id TINYINT UNSIGNED NOT NULL PRIMARY KEY COMMENT 'always 1',
	n BIGINT UNSIGNED NOT NULL COMMENT 'changes so far'
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT 'read by the verify cache; bumped by every token change';

INSERT INTO token_changes (id, n) VALUES (1, 0);
