-- 0016: queries in the message store. Every QBP is kept in source_reports
-- with kind 'query', the RSP (or ACK) it was answered with in ack, and
-- query_outcome the answer's profile and status, as an integration
-- engineer searches them: 'Z32', 'Z42', 'Z31', 'Z33 NF', 'Z33 TM',
-- 'Z33 PD', 'Z33 AE', 'Z33 AR', or 'ACK AR' for a query answered with an
-- ACK (envelope rejected, queries disabled). Empty for other kinds.
ALTER TABLE source_reports ADD COLUMN query_outcome text NOT NULL DEFAULT '';
CREATE INDEX source_reports_query_outcome ON source_reports (query_outcome, received_at DESC) WHERE kind = 'query';
