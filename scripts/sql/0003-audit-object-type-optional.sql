-- 0003-audit-object-type-optional: records posted without an object type.
--
-- Platform clients post extension records whose object has an id and a
-- name but no objectType; such a record keeps NULL here and shows no
-- objectType. Records written before keep theirs, and their hashes: the
-- canonical content already tells NULL from any text.

ALTER TABLE audit_records
	MODIFY object_type VARCHAR(64) NULL
	COMMENT 'ApiToken for token events; NULL when a posted record names none';
