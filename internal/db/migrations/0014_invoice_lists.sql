-- The operator API lists a member's payment invoices, newest first
-- (GET /api/admin/payments?member=…); by store there is invoices_store.
CREATE INDEX invoices_member ON invoices (member_id, id);
