-- Orders' ledger entries leave the index of entries by reference. Every
-- order wrote two entries (the charge and the settlement) whose reference,
-- the order's, is random, so each insert dirtied a random leaf of the index
-- (on SQLite two more WAL frames per order, docs/performance.md), and no
-- code looks entries up by reference but the demo funding, which asks for
-- adjustments only. Orders are found by orders.reference.
DROP INDEX entries_reference;
CREATE INDEX entries_adjustment ON entries (reference) WHERE kind = 'adjustment';
