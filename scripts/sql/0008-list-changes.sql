-- 0008-list-changes: a second counter in token_changes, behind apitokend's
-- list cache.
--
-- Row 2 moves with every change a token list shows: everything that moves
-- row 1 (both go up in one UPDATE), and the creation of a token, which no
-- verify answer depends on. apitokend reads it by primary key before each
-- list it could answer from memory, and answers from memory only while it
-- is what it was when the page was rendered.

INSERT INTO token_changes (id, n) VALUES (2, 0);

ALTER TABLE token_changes
  COMMENT 'row 1: read by the verify cache; row 2: by the list cache';
