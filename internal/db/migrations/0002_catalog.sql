-- The catalog: providers (a game, an operator, a utility) with the form an
-- order for them must carry, their products, the supplier SKUs that deliver
-- each product in priority order, and the selling price per member level —
-- explicit per product, or a per-level markup over the first active SKU's
-- cost. Money is whole rupiah; times are BIGINT microseconds since the Unix
-- epoch, UTC.

CREATE TABLE providers (
	id BIGSERIAL PRIMARY KEY,
	code TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	active BOOLEAN NOT NULL DEFAULT TRUE,
	-- The file name of the provider's icon, served at /images/provider/<icon>.
	icon TEXT NOT NULL DEFAULT '',
	-- The order form, a JSON array of fields (see catalog.Field).
	forms TEXT NOT NULL DEFAULT '[]',
	-- Listing order: lower first, then id.
	position BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX providers_position ON providers (position, id);

CREATE TABLE products (
	id BIGSERIAL PRIMARY KEY,
	code TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	provider_id BIGINT NOT NULL REFERENCES providers (id),
	active BOOLEAN NOT NULL DEFAULT TRUE,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX products_provider ON products (provider_id, id);

-- The supplier SKUs that deliver a product: priority 1 is tried first.
CREATE TABLE product_skus (
	id BIGSERIAL PRIMARY KEY,
	product_id BIGINT NOT NULL REFERENCES products (id),
	supplier TEXT NOT NULL,
	sku TEXT NOT NULL,
	priority BIGINT NOT NULL CHECK (priority >= 1),
	cost BIGINT NOT NULL CHECK (cost > 0),
	active BOOLEAN NOT NULL DEFAULT TRUE,
	updated_at BIGINT NOT NULL,
	UNIQUE (product_id, priority),
	UNIQUE (product_id, supplier, sku)
);
-- A supplier's price change names its SKU.
CREATE INDEX product_skus_supplier ON product_skus (supplier, sku);

-- Explicit selling prices; they win over the level's rule.
CREATE TABLE product_prices (
	product_id BIGINT NOT NULL REFERENCES products (id),
	level TEXT NOT NULL REFERENCES levels (code),
	price BIGINT NOT NULL CHECK (price > 0),
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (product_id, level)
);

-- The markup per level for products without an explicit price:
-- price = cost + ceil(cost × percent_bp / 10000) + flat.
CREATE TABLE price_rules (
	level TEXT PRIMARY KEY REFERENCES levels (code),
	percent_bp BIGINT NOT NULL CHECK (percent_bp >= 0),
	flat BIGINT NOT NULL CHECK (flat >= 0),
	updated_at BIGINT NOT NULL
);
