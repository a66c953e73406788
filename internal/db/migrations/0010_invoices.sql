-- Payment invoices of members' stores (QRIS collection), the reservation
-- of their totals, merchant_ref idempotency keys, the record of money
-- arriving on a channel (incoming funds), and the target URL of outbox
-- messages that go somewhere other than the member's webhook URL (a
-- store's callback URL).

-- An invoice waits as 'unpaid' for exactly total_amount = amount +
-- unique_code on channel qris:<store_id>, then becomes 'paid' (credited)
-- or 'expired'. A payment within the grace period still pays an expired
-- invoice (late). fee is fixed when the invoice is made, from the store's
-- fee rule then. held_until is expired_at plus the grace period: until
-- then the invoice's total belongs to it.
CREATE TABLE invoices (
	id BIGSERIAL PRIMARY KEY,
	invoice TEXT NOT NULL UNIQUE,
	store_id BIGINT NOT NULL REFERENCES stores (id),
	member_id BIGINT NOT NULL REFERENCES members (id),
	merchant_ref TEXT NOT NULL DEFAULT '',
	amount BIGINT NOT NULL CHECK (amount > 0),
	unique_code BIGINT NOT NULL CHECK (unique_code >= 0),
	total_amount BIGINT NOT NULL CHECK (total_amount = amount + unique_code),
	fee BIGINT NOT NULL DEFAULT 0 CHECK (fee >= 0 AND fee <= total_amount),
	description TEXT NOT NULL DEFAULT '',
	customer_name TEXT NOT NULL DEFAULT '',
	qr_content TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'expired')),
	late BOOLEAN NOT NULL DEFAULT FALSE,
	paid_by TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	expired_at BIGINT NOT NULL,
	held_until BIGINT NOT NULL,
	paid_at BIGINT NOT NULL DEFAULT 0,
	status_at BIGINT NOT NULL
);
-- Matching: the invoice of a store with a total, by time.
CREATE INDEX invoices_match ON invoices (store_id, total_amount, created_at);
CREATE INDEX invoices_due ON invoices (expired_at) WHERE status = 'unpaid';
CREATE INDEX invoices_store ON invoices (store_id, id);

-- Which invoice holds a store's total, and until when. A new invoice takes
-- a total only when no row holds it or the row's held_until has passed (an
-- upsert guarded on held_until), so no two invoices that may still be paid
-- share a total, whatever the concurrency. Paying an invoice frees its row.
CREATE TABLE invoice_totals (
	store_id BIGINT NOT NULL,
	total_amount BIGINT NOT NULL,
	invoice TEXT NOT NULL,
	held_until BIGINT NOT NULL,
	PRIMARY KEY (store_id, total_amount)
);

-- The newest invoice each store's merchant_ref names, with a hash of the
-- request: within 24 hours the same key and request replays it, a
-- different request is refused; after that the key is free.
CREATE TABLE invoice_keys (
	store_id BIGINT NOT NULL REFERENCES stores (id),
	merchant_ref TEXT NOT NULL,
	invoice TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (store_id, merchant_ref)
);

-- Money received on a channel (qris:<store_id>, bank:<code>), as a bank
-- mutation or acquirer feed reports it. external_id is the feed's own id:
-- posting it again changes nothing. 'matching' is a bank record whose
-- deposit is being confirmed (a step of its own transaction), 'matched'
-- names the invoice or deposit it paid, 'unmatched' says why none.
CREATE TABLE incoming_funds (
	id BIGSERIAL PRIMARY KEY,
	channel TEXT NOT NULL,
	external_id TEXT NOT NULL,
	amount BIGINT NOT NULL CHECK (amount > 0),
	received_at BIGINT NOT NULL,
	note TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL CHECK (status IN ('matching', 'matched', 'unmatched')),
	reference TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	posted_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	decided_at BIGINT NOT NULL,
	UNIQUE (channel, external_id)
);
CREATE INDEX incoming_funds_status ON incoming_funds (status, id);

-- Outbox messages addressed to a URL of their own (a store's callback)
-- rather than the member's webhook URL; '' means the member's.
ALTER TABLE webhook_messages ADD COLUMN url TEXT NOT NULL DEFAULT '';
