-- Upstream suppliers configured by the operator (kind 'prepaid': an HTTP
-- supplier that speaks the prepaid wire format), and the references such a
-- supplier gave to the orders we placed with it.

-- A configured supplier. api_key, secret_key and signature_secret are sealed
-- under the master key (webhook.Keyring); signature_secret is '' when the
-- supplier's webhooks are checked by source IP only. webhook_ips is a
-- comma-separated list of addresses or prefixes ('' = none). signed_form
-- makes orders carry the Signature header in kios's t=…,v1=… form instead
-- of the plain secret key the references send.
CREATE TABLE suppliers (
	name TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	base_url TEXT NOT NULL,
	api_key TEXT NOT NULL,
	secret_key TEXT NOT NULL,
	webhook_ips TEXT NOT NULL DEFAULT '',
	signature_secret TEXT NOT NULL DEFAULT '',
	signed_form BOOLEAN NOT NULL DEFAULT FALSE,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- Our order reference → the supplier's own reference for it, recorded when
-- the supplier accepts the order. A supplier's webhook may name only its
-- own reference.
CREATE TABLE supplier_orders (
	supplier TEXT NOT NULL,
	reference TEXT NOT NULL,
	supplier_reference TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (supplier, reference)
);
CREATE INDEX supplier_orders_theirs ON supplier_orders (supplier, supplier_reference);
