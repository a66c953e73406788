-- E-wallet top-ups (the PPOB face): what makes a catalog product an
-- e-wallet product, its admin fee per member level, and the member's req_id
-- of each transaction. An e-wallet product is an ordinary product (with its
-- provider and active flag) with a row here. Its supplier SKUs live in
-- ewallet_skus rather than product_skus: their cost is a fee per top-up, not
-- a price, so the product has no fixed price and the prepaid face never
-- offers it. A top-up of amount A through a SKU costs A + fee and is sold
-- for A + the level's admin fee.

CREATE TABLE ewallet_products (
	product_id BIGINT PRIMARY KEY REFERENCES products (id),
	operator TEXT NOT NULL,
	min_amount BIGINT NOT NULL CHECK (min_amount >= 1000),
	max_amount BIGINT NOT NULL,
	-- How cust_id is checked and normalised: 'msisdn' (an Indonesian mobile
	-- number, stored as 08…).
	customer_rule TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	CHECK (max_amount >= min_amount)
);

-- The admin fee added to the amount, per level; a level without one cannot
-- buy the product.
CREATE TABLE ewallet_fees (
	product_id BIGINT NOT NULL REFERENCES ewallet_products (product_id),
	level TEXT NOT NULL REFERENCES levels (code),
	fee BIGINT NOT NULL CHECK (fee >= 0),
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (product_id, level)
);

-- The supplier SKUs that deliver an e-wallet product, priority 1 first.
CREATE TABLE ewallet_skus (
	product_id BIGINT NOT NULL REFERENCES ewallet_products (product_id),
	supplier TEXT NOT NULL,
	sku TEXT NOT NULL,
	priority BIGINT NOT NULL CHECK (priority >= 1),
	fee BIGINT NOT NULL CHECK (fee >= 0),
	active BOOLEAN NOT NULL DEFAULT TRUE,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (product_id, priority),
	UNIQUE (product_id, supplier, sku)
);

-- One row per e-wallet transaction: the member's req_id, unique per member
-- forever, bound to the order it created and to what was asked (the hash of
-- product, normalised customer and amount).
CREATE TABLE ewallet_transactions (
	member_id BIGINT NOT NULL REFERENCES members (id),
	req_id TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	reference TEXT NOT NULL UNIQUE,
	product_code TEXT NOT NULL,
	customer TEXT NOT NULL,
	amount BIGINT NOT NULL CHECK (amount > 0),
	admin_fee BIGINT NOT NULL CHECK (admin_fee >= 0),
	created_at BIGINT NOT NULL,
	PRIMARY KEY (member_id, req_id)
);

-- The part of a fulfilment job's cost that does not depend on the supplier
-- (an e-wallet top-up's amount): failing over to another SKU costs base +
-- that SKU's cost. 0 for fixed-price products.
ALTER TABLE fulfilment_jobs ADD COLUMN base BIGINT NOT NULL DEFAULT 0;
