-- 0002-audit-head-time: the time of each chain's newest record.
--
-- A writer holding the chain head gives its record a timestamp later than
-- this one (by a millisecond when the clock has not moved on, or moved
-- back), so that within an account "newest first" by timestamp is the
-- chain's own order, and lists page through records written in the same
-- millisecond in the order they were chained.

ALTER TABLE audit_chain_heads
	ADD COLUMN last_at DATETIME(3) NULL
	COMMENT 'timestamp of record seq, NULL before the first';

UPDATE audit_chain_heads h
	SET h.last_at = (SELECT r.timestamp FROM audit_records r
			 WHERE r.account_id = h.account_id AND r.seq = h.seq);
