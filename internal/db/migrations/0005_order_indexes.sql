-- Only processing orders need finding by age (the stuck-order query); an
-- index over every order's status cost each settlement two index writes.
DROP INDEX orders_status;
CREATE INDEX orders_processing ON orders (created_at) WHERE status = 'processing';
