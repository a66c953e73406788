-- Sign-in sessions of the web pages: one row per signed-in browser, for a
-- member or an operator. Only the SHA-256 of the session token is kept, so
-- a copy of the database signs nobody in. A session ends at expires_at, or
-- earlier when its owner signs out (the row is deleted).
CREATE TABLE web_sessions (
	id BIGSERIAL PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL CHECK (kind IN ('member', 'operator')),
	subject_id BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
