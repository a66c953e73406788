-- Funding: deposits (money members bring in) and withdrawals (money they
-- take out), the platform's destination bank accounts, and the history of
-- every status change. Money itself moves only through the ledger; these
-- tables record what was asked for and how it was decided.

-- The platform's destination accounts per bank channel, seeded from the
-- configuration (--banks) when a code is absent, then edited by operators.
-- The QRIS channel is built in and has no row.
CREATE TABLE funding_banks (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	account_number TEXT NOT NULL,
	account_name TEXT NOT NULL,
	active BOOLEAN NOT NULL DEFAULT TRUE,
	updated_at BIGINT NOT NULL,
	updated_by TEXT NOT NULL DEFAULT ''
);

-- A deposit waits as 'unpaid' for money of exactly price = amount +
-- unique_code on its channel, then becomes 'success' (credited) or
-- 'expired'. The destination account is copied at creation so that what
-- the payer was told never changes.
CREATE TABLE deposits (
	id BIGSERIAL PRIMARY KEY,
	reference TEXT NOT NULL UNIQUE,
	member_id BIGINT NOT NULL REFERENCES members (id),
	channel TEXT NOT NULL,
	via TEXT NOT NULL,
	amount BIGINT NOT NULL CHECK (amount > 0),
	unique_code BIGINT NOT NULL CHECK (unique_code BETWEEN 1 AND 999),
	price BIGINT NOT NULL CHECK (price = amount + unique_code),
	dest_account_number TEXT NOT NULL DEFAULT '',
	dest_account_name TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL CHECK (status IN ('unpaid', 'success', 'failed', 'expired')),
	reason TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	expired_at BIGINT NOT NULL,
	status_at BIGINT NOT NULL
);
-- No two open deposits on one channel share a price, whatever the
-- concurrency: incoming money is matched by (channel, price).
CREATE UNIQUE INDEX deposits_open_price ON deposits (channel, price) WHERE status = 'unpaid';
-- Prices of deposits that stopped being open recently stay out of new
-- deposits for a grace period (a late payment must not match another's).
CREATE INDEX deposits_expired ON deposits (channel, status_at) WHERE status = 'expired';
CREATE INDEX deposits_due ON deposits (expired_at) WHERE status = 'unpaid';
CREATE INDEX deposits_member ON deposits (member_id, id);

-- A withdrawal holds its amount (member → system:payout) at creation and
-- waits as 'processing' for an operator: 'success' pays it out, 'failed'
-- returns it.
CREATE TABLE withdrawals (
	id BIGSERIAL PRIMARY KEY,
	reference TEXT NOT NULL UNIQUE,
	member_id BIGINT NOT NULL REFERENCES members (id),
	partner_reference TEXT NOT NULL DEFAULT '',
	amount BIGINT NOT NULL CHECK (amount > 0),
	bank TEXT NOT NULL,
	bank_name TEXT NOT NULL,
	account_number TEXT NOT NULL,
	account_name TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('processing', 'success', 'failed')),
	reason TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	status_at BIGINT NOT NULL
);
CREATE INDEX withdrawals_member ON withdrawals (member_id, id);
CREATE INDEX withdrawals_status ON withdrawals (status, id);

-- The newest withdrawal each member's partner_reference names, with a hash
-- of the request it came with: within 24 hours the same key and request
-- replays it, a different request is refused; after that the key is free.
CREATE TABLE withdrawal_keys (
	member_id BIGINT NOT NULL REFERENCES members (id),
	partner_reference TEXT NOT NULL,
	reference TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (member_id, partner_reference)
);

-- Every status a deposit or withdrawal has had, with its time and who
-- decided it.
CREATE TABLE funding_status (
	id BIGSERIAL PRIMARY KEY,
	reference TEXT NOT NULL,
	status TEXT NOT NULL,
	changed_at BIGINT NOT NULL,
	actor TEXT NOT NULL DEFAULT '',
	note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX funding_status_reference ON funding_status (reference, id);
