-- The ledger account (a stripe of system:inflight) that holds an order's
-- price while it is being fulfilled. On PostgreSQL a new order's charge
-- credits whichever of several stripes no concurrent transaction holds, so
-- that orders never queue behind each other's or the settlements' row
-- locks; the settlement and the refund debit the stripe recorded here. 0
-- for orders written before: their stripe is derived from the reference
-- (ledger.Stripe).
ALTER TABLE orders ADD COLUMN inflight BIGINT NOT NULL DEFAULT 0;
