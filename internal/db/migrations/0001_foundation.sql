-- The foundation: the ledger, members and their credentials, operators.
-- Times are BIGINT microseconds since the Unix epoch, UTC, so that both
-- databases store, compare and group them the same way.

CREATE TABLE accounts (
	id BIGSERIAL PRIMARY KEY,
	code TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL,
	balance BIGINT NOT NULL DEFAULT 0,
	allow_negative BOOLEAN NOT NULL DEFAULT FALSE,
	created_at BIGINT NOT NULL,
	-- A second guard behind the ledger's guarded updates.
	CHECK (allow_negative OR balance >= 0)
);

CREATE TABLE entries (
	id BIGSERIAL PRIMARY KEY,
	kind TEXT NOT NULL,
	reference TEXT NOT NULL DEFAULT '',
	memo TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
);
CREATE INDEX entries_reference ON entries (reference);

CREATE TABLE postings (
	id BIGSERIAL PRIMARY KEY,
	entry_id BIGINT NOT NULL REFERENCES entries (id),
	account_id BIGINT NOT NULL REFERENCES accounts (id),
	amount BIGINT NOT NULL CHECK (amount <> 0)
);
CREATE INDEX postings_entry ON postings (entry_id);
CREATE INDEX postings_account ON postings (account_id, id);

CREATE TABLE levels (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	rank BIGINT NOT NULL
);
INSERT INTO levels (code, name, rank) VALUES
	('member', 'Member', 1),
	('reseller', 'Reseller', 2),
	('h2h', 'H2H', 3);

CREATE TABLE members (
	id BIGSERIAL PRIMARY KEY,
	username TEXT NOT NULL UNIQUE,
	level TEXT NOT NULL REFERENCES levels (code),
	upline_id BIGINT REFERENCES members (id),
	active BOOLEAN NOT NULL DEFAULT TRUE,
	api_access BOOLEAN NOT NULL DEFAULT TRUE,
	password_hash TEXT NOT NULL,
	account_id BIGINT NOT NULL UNIQUE REFERENCES accounts (id),
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX members_upline ON members (upline_id);

CREATE TABLE credentials (
	id BIGSERIAL PRIMARY KEY,
	member_id BIGINT NOT NULL REFERENCES members (id),
	key_hash TEXT NOT NULL UNIQUE,
	key_hint TEXT NOT NULL,
	secret_hash TEXT NOT NULL,
	allow_ips TEXT NOT NULL DEFAULT '',
	signed_only BOOLEAN NOT NULL DEFAULT FALSE,
	rate_per_sec BIGINT NOT NULL DEFAULT 0,
	rate_burst BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX credentials_member ON credentials (member_id);

CREATE TABLE operators (
	id BIGSERIAL PRIMARY KEY,
	username TEXT NOT NULL UNIQUE,
	role TEXT NOT NULL CHECK (role IN ('admin', 'finance', 'catalog', 'viewer')),
	password_hash TEXT NOT NULL,
	active BOOLEAN NOT NULL DEFAULT TRUE,
	created_at BIGINT NOT NULL
);

CREATE TABLE operator_tokens (
	id BIGSERIAL PRIMARY KEY,
	operator_id BIGINT NOT NULL REFERENCES operators (id),
	token_hash TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX operator_tokens_operator ON operator_tokens (operator_id);
