-- Deposits and withdrawals report their end (success, failed, expired) to
-- the member's webhook, as orders do; webhook_sent becomes TRUE when the
-- first such message was delivered, and the status call shows it.
ALTER TABLE deposits ADD COLUMN webhook_sent BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE withdrawals ADD COLUMN webhook_sent BOOLEAN NOT NULL DEFAULT FALSE;
