-- Prepaid orders, their status history, the fulfilment queue and the
-- partner_reference idempotency keys.

CREATE TABLE orders (
	id BIGSERIAL PRIMARY KEY,
	reference TEXT NOT NULL UNIQUE,
	member_id BIGINT NOT NULL REFERENCES members (id),
	partner_reference TEXT NOT NULL DEFAULT '',
	product_code TEXT NOT NULL,
	product_name TEXT NOT NULL,
	provider_name TEXT NOT NULL,
	customer TEXT NOT NULL,          -- the first form value: the number or game id topped up
	form TEXT NOT NULL,              -- all form values, JSON
	price BIGINT NOT NULL CHECK (price > 0),
	status TEXT NOT NULL,
	sn TEXT NOT NULL DEFAULT '',
	note TEXT NOT NULL DEFAULT '',
	supplier TEXT NOT NULL DEFAULT '',
	cost BIGINT NOT NULL DEFAULT 0,
	webhook_sent BOOLEAN NOT NULL DEFAULT FALSE,
	created_at BIGINT NOT NULL,
	status_at BIGINT NOT NULL,
	expired_at BIGINT NOT NULL
);
CREATE INDEX orders_member ON orders (member_id, id);
CREATE INDEX orders_partner ON orders (member_id, partner_reference);
CREATE INDEX orders_status ON orders (status, created_at);

CREATE TABLE order_events (
	id BIGSERIAL PRIMARY KEY,
	order_id BIGINT NOT NULL REFERENCES orders (id),
	status TEXT NOT NULL,
	supplier TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT '',
	at BIGINT NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, id);

-- One row per order still being fulfilled. phase 'submit' means the
-- supplier has certainly not been given the order yet; 'poll' means it may
-- have been, so only its status may be asked. A claim sets lease_until and
-- turns 'submit' into 'poll' in the same transaction: that is the durable
-- record that a submission may be under way.
CREATE TABLE fulfilment_jobs (
	order_id BIGINT PRIMARY KEY REFERENCES orders (id),
	phase TEXT NOT NULL CHECK (phase IN ('submit', 'poll')),
	supplier TEXT NOT NULL,
	sku TEXT NOT NULL,
	cost BIGINT NOT NULL,
	attempt BIGINT NOT NULL DEFAULT 1,  -- which supplier SKU in priority order
	polls BIGINT NOT NULL DEFAULT 0,
	due_at BIGINT NOT NULL,
	lease_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX fulfilment_jobs_due ON fulfilment_jobs (due_at);

-- Client-chosen idempotency keys (partner_reference) per member and scope.
CREATE TABLE idempotency_keys (
	member_id BIGINT NOT NULL REFERENCES members (id),
	scope TEXT NOT NULL,
	idem_key TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	reference TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (member_id, scope, idem_key)
);
