-- The operator audit log: one row per change an operator made through the
-- operator API, written in the same transaction as the change. It is
-- append-only: no code updates or deletes it, and a trigger refuses both.
-- before_json and after_json hold what changed ('' when not applicable).

CREATE TABLE audit_log (
	id BIGSERIAL PRIMARY KEY,
	at BIGINT NOT NULL,
	operator_id BIGINT NOT NULL REFERENCES operators (id),
	operator TEXT NOT NULL,
	action TEXT NOT NULL,
	target_type TEXT NOT NULL,
	target TEXT NOT NULL,
	before_json TEXT NOT NULL DEFAULT '',
	after_json TEXT NOT NULL DEFAULT '',
	comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_operator ON audit_log (operator, id);
CREATE INDEX audit_log_target ON audit_log (target, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
