-- Stores: a member's points of sale for QRIS payment collection. A store
-- carries the merchant's printed (static) QRIS, from which each invoice's
-- dynamic QRIS is made, where payment webhooks go, how long an invoice
-- stays open, and the platform's fee on each paid invoice.
CREATE TABLE stores (
	id BIGSERIAL PRIMARY KEY,
	member_id BIGINT NOT NULL REFERENCES members (id),
	name TEXT NOT NULL,
	-- The static QRIS payload, validated when saved; '' for none (the
	-- payment API then makes a sandbox payload).
	static_qris TEXT NOT NULL DEFAULT '',
	callback_url TEXT NOT NULL DEFAULT '',
	invoice_lifetime_sec BIGINT NOT NULL DEFAULT 3600 CHECK (invoice_lifetime_sec > 0),
	fee_flat BIGINT NOT NULL DEFAULT 0 CHECK (fee_flat >= 0),
	-- Percent fee in basis points: 250 is 2.5 %.
	fee_percent_bp BIGINT NOT NULL DEFAULT 0 CHECK (fee_percent_bp BETWEEN 0 AND 10000),
	sandbox BOOLEAN NOT NULL DEFAULT FALSE,
	active BOOLEAN NOT NULL DEFAULT TRUE,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX stores_member ON stores (member_id, id);
