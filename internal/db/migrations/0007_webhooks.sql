-- Webhooks out: each member's endpoint and signing secrets, the outbox of
-- messages to deliver, and a record of every delivery attempt.

-- A member's webhook endpoint. The secrets are sealed under the master key
-- (webhook.Keyring). After a rotation the previous secret keeps signing,
-- beside the current one, until previous_until; an empty url means no
-- webhooks are recorded for the member.
CREATE TABLE webhook_endpoints (
	member_id BIGINT PRIMARY KEY REFERENCES members (id),
	url TEXT NOT NULL DEFAULT '',
	secret TEXT NOT NULL,
	previous_secret TEXT NOT NULL DEFAULT '',
	previous_until BIGINT NOT NULL DEFAULT 0,
	updated_at BIGINT NOT NULL
);

-- The outbox. A message is written in the same transaction as the change it
-- reports, then waits as 'pending' until delivered ('delivered') or given up
-- after the last scheduled retry ('failed'). payload is the exact JSON body.
-- A worker claims a due message by setting lease_until; attempts counts the
-- attempts since the message was enqueued or last redelivered.
CREATE TABLE webhook_messages (
	id BIGSERIAL PRIMARY KEY,
	member_id BIGINT NOT NULL REFERENCES members (id),
	kind TEXT NOT NULL,
	reference TEXT NOT NULL DEFAULT '',
	payload TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts BIGINT NOT NULL DEFAULT 0,
	next_at BIGINT NOT NULL,
	lease_until BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	delivered_at BIGINT NOT NULL DEFAULT 0
);
-- Due claims.
CREATE INDEX webhook_messages_due ON webhook_messages (next_at, id) WHERE status = 'pending';
-- Order per reference: is an earlier message for the same reference still
-- pending?
CREATE INDEX webhook_messages_reference ON webhook_messages (member_id, reference, id) WHERE status = 'pending';
CREATE INDEX webhook_messages_member ON webhook_messages (member_id, id);

-- Every delivery attempt, numbered per message from 1 across redeliveries.
-- http_status is 0 when no answer arrived; response holds the first 1 KiB
-- of the answer's body (as text).
CREATE TABLE webhook_attempts (
	message_id BIGINT NOT NULL REFERENCES webhook_messages (id),
	n BIGINT NOT NULL,
	at BIGINT NOT NULL,
	http_status BIGINT NOT NULL,
	latency_us BIGINT NOT NULL,
	error TEXT NOT NULL DEFAULT '',
	response TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (message_id, n)
);
