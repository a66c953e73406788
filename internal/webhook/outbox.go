package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"kios/internal/db"
)

// The kinds of message the outbox carries (the webhook_type of the payload).
const (
	KindTransactionStatus = "transaction_status"
	KindPriceUpdate       = "price_update"
	KindTest              = "test"
)

// The states of an outbox message.
const (
	StatusPending   = "pending"   // waiting for its next attempt
	StatusDelivered = "delivered" // a receiver accepted it
	StatusFailed    = "failed"    // given up after the last scheduled retry
)

// RotationGrace is how long the previous signing secret keeps signing,
// beside the new one, after RotateSecret.
const RotationGrace = 24 * time.Hour

// The errors of the outbox's domain calls.
var (
	// ErrNoURL reports a call that needs a webhook URL the member has not set.
	ErrNoURL = errors.New("webhook: the member has no webhook URL")
	// ErrNotRedeliverable reports a Redeliver of a message that is still
	// pending: it will be sent anyway.
	ErrNotRedeliverable = errors.New("webhook: only a delivered or failed message can be redelivered")
)

// Message is one message of the outbox.
type Message struct {
	ID          int64
	MemberID    int64
	Kind        string
	Reference   string // "" when the message reports no single reference
	Payload     []byte // the exact JSON body
	Status      string // StatusPending, StatusDelivered or StatusFailed
	Attempts    int    // attempts since enqueued or last redelivered
	NextAt      time.Time
	CreatedAt   time.Time
	DeliveredAt time.Time // zero unless delivered
}

// Attempt is the record of one delivery attempt.
type Attempt struct {
	N          int // from 1, across redeliveries
	At         time.Time
	HTTPStatus int // 0 when no answer arrived
	Latency    time.Duration
	Error      string // why the attempt did not count as delivered, or ""
	Response   string // the first 1 KiB of the answer's body
}

// Enqueue records a message for memberID in the outbox. It must be called
// inside the caller's db.Write, with the change the message reports, so that
// the two commit or roll back together: a crash can delay a webhook, never
// lose it.
//
// When the member has no webhook URL set, Enqueue records nothing and
// returns nil: there is nowhere to send the message, now or later. payload is
// the exact body that will be sent and must be valid JSON; reference is the
// transaction the message reports ("" when none), and messages with the
// same member and reference are delivered in the order they were enqueued.
//
// Delivery workers find the message within their poll interval; to send it
// at once, also call tx.AfterCommit(svc.Poke).
func Enqueue(tx *db.Tx, memberID int64, kind, reference string, payload []byte, now time.Time) error {
	if err := checkMessage(kind, payload); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO webhook_messages
		(member_id, kind, reference, payload, status, attempts, next_at, lease_until, created_at, delivered_at)
		SELECT member_id, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), 'pending', 0, CAST(? AS BIGINT), 0, CAST(? AS BIGINT), 0
		FROM webhook_endpoints WHERE member_id = ? AND url <> ''`,
		kind, reference, string(payload), now.UnixMicro(), now.UnixMicro(), memberID)
	if err != nil {
		return fmt.Errorf("webhook: enqueue: %w", err)
	}
	return nil
}

// statusBody is a transaction_status message: the references' shape plus
// partner_reference (left out when the member gave none).
type statusBody struct {
	Type             string `json:"webhook_type"`
	Reference        string `json:"reference"`
	PartnerReference string `json:"partner_reference,omitempty"`
	Status           string `json:"status"`
	SN               string `json:"sn"`
	Note             string `json:"note"`
	SentAt           string `json:"sent_at"`
}

// StatusBody returns the body of the transaction_status message of an
// order, a deposit or a withdrawal: an empty sn is sent as "N/A", and
// sent_at is sentAt, the time the message is written (the body is signed
// once and never changes on retries).
func StatusBody(reference, partnerReference, status, sn, note string, sentAt time.Time) ([]byte, error) {
	if sn == "" {
		sn = "N/A"
	}
	return json.Marshal(statusBody{Type: KindTransactionStatus, Reference: reference, PartnerReference: partnerReference,
		Status: status, SN: sn, Note: note, SentAt: sentAt.UTC().Format("2006-01-02T15:04:05.000000Z")})
}

// Outgoing is one message for EnqueueMany.
type Outgoing struct {
	Member    int64
	Reference string
	Payload   []byte
}

// EnqueueMany records msgs, all of one kind, as Enqueue records each, in
// order; on PostgreSQL with one statement for all of them.
func EnqueueMany(tx *db.Tx, kind string, msgs []Outgoing, now time.Time) error {
	for _, m := range msgs {
		if err := checkMessage(kind, m.Payload); err != nil {
			return err
		}
	}
	if tx.Dialect() != db.Postgres || len(msgs) == 1 {
		for _, m := range msgs {
			if err := Enqueue(tx, m.Member, kind, m.Reference, m.Payload, now); err != nil {
				return err
			}
		}
		return nil
	}
	if len(msgs) == 0 {
		return nil
	}
	ord, members := make([]int64, len(msgs)), make([]int64, len(msgs))
	refs, payloads := make([]string, len(msgs)), make([]string, len(msgs))
	for i, m := range msgs {
		ord[i], members[i], refs[i], payloads[i] = int64(i), m.Member, m.Reference, string(m.Payload)
	}
	_, err := tx.Exec(`INSERT INTO webhook_messages
		(member_id, kind, reference, payload, status, attempts, next_at, lease_until, created_at, delivered_at)
		SELECT m.member_id, ?::text, m.reference, m.payload, 'pending', 0, ?::bigint, 0, ?::bigint, 0
		FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[]) AS m (ord, member_id, reference, payload)
		JOIN webhook_endpoints e ON e.member_id = m.member_id AND e.url <> ''
		ORDER BY m.ord`, kind, now.UnixMicro(), now.UnixMicro(), ord, members, refs, payloads)
	if err != nil {
		return fmt.Errorf("webhook: enqueue: %w", err)
	}
	return nil
}

// EnqueueLevel records one message, as Enqueue does, for every member of
// level who has a webhook URL, inside the caller's db.Write. Members
// without a URL get nothing.
func EnqueueLevel(tx *db.Tx, level, kind, reference string, payload []byte, now time.Time) error {
	if err := checkMessage(kind, payload); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO webhook_messages
		(member_id, kind, reference, payload, status, attempts, next_at, lease_until, created_at, delivered_at)
		SELECT e.member_id, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), 'pending', 0, CAST(? AS BIGINT), 0, CAST(? AS BIGINT), 0
		FROM webhook_endpoints e JOIN members m ON m.id = e.member_id
		WHERE m.level = ? AND e.url <> ''
		ORDER BY e.member_id`,
		kind, reference, string(payload), now.UnixMicro(), now.UnixMicro(), level)
	if err != nil {
		return fmt.Errorf("webhook: enqueue for level %s: %w", level, err)
	}
	return nil
}

func checkMessage(kind string, payload []byte) error {
	if kind == "" {
		return fmt.Errorf("%w: empty message kind", ErrInvalidInput)
	}
	if !json.Valid(payload) {
		return fmt.Errorf("%w: payload is not JSON", ErrInvalidInput)
	}
	return nil
}

// Service runs the outbox: members' endpoints and secrets, the domain calls
// on messages, and the delivery worker (Run). Set its exported fields before
// Run starts.
type Service struct {
	db     *db.DB
	keys   *Keyring
	now    func() time.Time
	logger *slog.Logger
	client *Client
	lease  time.Duration
	wake   chan struct{}

	// OnDelivered, when set, runs inside the transaction that records the
	// delivery of a transaction_status message, with the message's
	// reference; an error undoes that record and the message is sent
	// again later. It runs at every delivery (a redelivered message
	// calls it again), so it must be idempotent; on SQLite it runs on the
	// single writer goroutine, so it must be quick.
	OnDelivered func(tx *db.Tx, reference string) error
	// Workers bounds the deliveries in flight (default 64).
	Workers int
	// PollInterval is how often Run looks for due messages when nothing
	// pokes it (default 1 s).
	PollInterval time.Duration
}

// NewService returns a Service on d, sealing secrets with keys, reading the
// time from now (time.Now when nil) and posting with a Client made from
// client.
func NewService(d *db.DB, keys *Keyring, now func() time.Time, logger *slog.Logger, client ClientOptions) *Service {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := client.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Service{
		db:           d,
		keys:         keys,
		now:          now,
		logger:       logger,
		client:       NewClient(client),
		lease:        timeout + time.Minute,
		wake:         make(chan struct{}, 1),
		Workers:      64,
		PollInterval: time.Second,
	}
}

// Poke wakes the delivery workers of this process to look for due messages
// now. It never blocks.
func (s *Service) Poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// memberExists fails with db.ErrNotFound when there is no such member.
func memberExists(tx *db.Tx, memberID int64) error {
	var one int
	if err := tx.QueryRow("SELECT 1 FROM members WHERE id = ?", memberID).Scan(&one); err != nil {
		return fmt.Errorf("webhook: member %d: %w", memberID, err)
	}
	return nil
}

// SetURL sets the member's webhook URL, an absolute http or https URL; ""
// stops recording webhooks for the member. The first time, it also issues
// the member's signing secret (see Secret).
func (s *Service) SetURL(ctx context.Context, memberID int64, rawURL string) error {
	return s.SetURLWith(ctx, memberID, rawURL, nil)
}

// SetURLWith is SetURL, running also (when not nil) with the URL before
// inside its transaction; an error of also undoes the change.
func (s *Service) SetURLWith(ctx context.Context, memberID int64, rawURL string, also func(tx *db.Tx, before string) error) error {
	return s.db.Write(ctx, func(tx *db.Tx) error {
		before, err := s.SetURLIn(tx, memberID, rawURL)
		if err != nil || also == nil {
			return err
		}
		return also(tx, before)
	})
}

// SetURLIn is SetURL inside tx, the caller's transaction, and returns the
// URL before ("" for none).
func (s *Service) SetURLIn(tx *db.Tx, memberID int64, rawURL string) (string, error) {
	rawURL = strings.TrimSpace(rawURL)
	if rawURL != "" {
		if _, err := ValidateURL(rawURL); err != nil {
			return "", err
		}
	}
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	sealed, err := s.keys.Seal(secret)
	if err != nil {
		return "", err
	}
	if err := memberExists(tx, memberID); err != nil {
		return "", err
	}
	var before string
	err = tx.QueryRow("SELECT url FROM webhook_endpoints WHERE member_id = ?", memberID).Scan(&before)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return "", err
	}
	_, err = tx.Exec(`INSERT INTO webhook_endpoints (member_id, url, secret, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (member_id) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at`,
		memberID, rawURL, sealed, s.now().UnixMicro())
	return before, err
}

// URL returns the member's webhook URL, "" when none is set.
func (s *Service) URL(ctx context.Context, memberID int64) (string, error) {
	var u string
	err := s.db.QueryRow(ctx, "SELECT url FROM webhook_endpoints WHERE member_id = ?", memberID).Scan(&u)
	if errors.Is(err, db.ErrNotFound) {
		return "", nil
	}
	return u, err
}

// Secret returns the member's current signing secret, "whsec_…", issuing
// one if the member has none yet.
func (s *Service) Secret(ctx context.Context, memberID int64) (string, error) {
	var sealed string
	err := s.db.QueryRow(ctx, "SELECT secret FROM webhook_endpoints WHERE member_id = ?", memberID).Scan(&sealed)
	if errors.Is(err, db.ErrNotFound) {
		if err := s.issueSecret(ctx, memberID); err != nil {
			return "", err
		}
		err = s.db.QueryRow(ctx, "SELECT secret FROM webhook_endpoints WHERE member_id = ?", memberID).Scan(&sealed)
	}
	if err != nil {
		return "", err
	}
	return s.keys.Open(sealed)
}

// issueSecret gives the member an endpoint row, without a URL, holding a
// new secret, unless it already has one.
func (s *Service) issueSecret(ctx context.Context, memberID int64) error {
	secret, err := NewSecret()
	if err != nil {
		return err
	}
	sealed, err := s.keys.Seal(secret)
	if err != nil {
		return err
	}
	now := s.now().UnixMicro()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		if err := memberExists(tx, memberID); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO webhook_endpoints (member_id, url, secret, updated_at) VALUES (?, '', ?, ?)
			ON CONFLICT (member_id) DO NOTHING`, memberID, sealed, now)
		return err
	})
}

// RotateSecret issues a new signing secret for the member and returns it.
// For RotationGrace after, messages are signed with both the new and the
// previous secret, so that the receiver can switch at its pace; a second
// rotation within that time drops the oldest secret.
func (s *Service) RotateSecret(ctx context.Context, memberID int64) (string, error) {
	return s.RotateSecretWith(ctx, memberID, nil)
}

// RotateSecretWith is RotateSecret, running also (when not nil) inside its
// transaction; an error of also undoes the rotation.
func (s *Service) RotateSecretWith(ctx context.Context, memberID int64, also func(tx *db.Tx) error) (string, error) {
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	sealed, err := s.keys.Seal(secret)
	if err != nil {
		return "", err
	}
	now := s.now()
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if err := memberExists(tx, memberID); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO webhook_endpoints (member_id, url, secret, updated_at) VALUES (?, '', ?, ?)
			ON CONFLICT (member_id) DO UPDATE SET previous_secret = webhook_endpoints.secret,
				previous_until = ?, secret = excluded.secret, updated_at = excluded.updated_at`,
			memberID, sealed, now.UnixMicro(), now.Add(RotationGrace).UnixMicro())
		if err != nil || also == nil {
			return err
		}
		return also(tx)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Redeliver puts a delivered or failed message back in the outbox, due now,
// with its attempts counted again from zero (its attempt records stay).
func (s *Service) Redeliver(ctx context.Context, messageID int64) error {
	return s.RedeliverWith(ctx, messageID, nil)
}

// RedeliverWith is Redeliver, running also (when not nil) inside its
// transaction with the message's status before; an error of also undoes
// the redelivery.
func (s *Service) RedeliverWith(ctx context.Context, messageID int64, also func(tx *db.Tx, before string) error) error {
	now := s.now().UnixMicro()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var before string
		err := tx.QueryRow("SELECT status FROM webhook_messages WHERE id = ?", messageID).Scan(&before)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return err
		}
		n, err := tx.ExecAffected(`UPDATE webhook_messages SET status = 'pending', attempts = 0,
			next_at = ?, lease_until = 0, delivered_at = 0
			WHERE id = ? AND status IN ('delivered', 'failed')`, now, messageID)
		if err != nil {
			return err
		}
		if n > 0 {
			if also == nil {
				return nil
			}
			return also(tx, before)
		}
		var status string
		if err := tx.QueryRow("SELECT status FROM webhook_messages WHERE id = ?", messageID).Scan(&status); err != nil {
			return fmt.Errorf("webhook: message %d: %w", messageID, err)
		}
		return ErrNotRedeliverable
	})
	if err == nil {
		s.Poke()
	}
	return err
}

// SendTest enqueues a test message for the member and returns its id. It
// fails with ErrNoURL when the member has no webhook URL.
func (s *Service) SendTest(ctx context.Context, memberID int64) (int64, error) {
	return s.SendTestWith(ctx, memberID, nil)
}

// SendTestWith is SendTest, running also (when not nil) with the message's
// id and URL inside its transaction; an error of also undoes it.
func (s *Service) SendTestWith(ctx context.Context, memberID int64, also func(tx *db.Tx, id int64, url string) error) (int64, error) {
	now := s.now()
	payload, err := json.Marshal(struct {
		Type    string `json:"webhook_type"`
		Message string `json:"message"`
		SentAt  string `json:"sent_at"`
	}{KindTest, "Tes webhook dari kios", now.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		var u string
		err := tx.QueryRow("SELECT url FROM webhook_endpoints WHERE member_id = ?", memberID).Scan(&u)
		if errors.Is(err, db.ErrNotFound) || (err == nil && u == "") {
			return ErrNoURL
		}
		if err != nil {
			return err
		}
		id, err = tx.InsertID(`INSERT INTO webhook_messages
			(member_id, kind, reference, payload, status, attempts, next_at, lease_until, created_at, delivered_at)
			VALUES (?, ?, '', ?, 'pending', 0, ?, 0, ?, 0)`,
			memberID, KindTest, string(payload), now.UnixMicro(), now.UnixMicro())
		if err != nil || also == nil {
			return err
		}
		return also(tx, id, u)
	})
	if err != nil {
		return 0, err
	}
	s.Poke()
	return id, nil
}

// Message returns one message of the outbox.
func (s *Service) Message(ctx context.Context, messageID int64) (Message, error) {
	var m Message
	var payload string
	var next, created, delivered int64
	err := s.db.QueryRow(ctx, `SELECT id, member_id, kind, reference, payload, status, attempts, next_at, created_at, delivered_at
		FROM webhook_messages WHERE id = ?`, messageID).
		Scan(&m.ID, &m.MemberID, &m.Kind, &m.Reference, &payload, &m.Status, &m.Attempts, &next, &created, &delivered)
	if err != nil {
		return Message{}, fmt.Errorf("webhook: message %d: %w", messageID, err)
	}
	m.Payload = []byte(payload)
	m.NextAt = time.UnixMicro(next)
	m.CreatedAt = time.UnixMicro(created)
	if delivered != 0 {
		m.DeliveredAt = time.UnixMicro(delivered)
	}
	return m, nil
}

// Attempts returns the delivery attempts of a message, oldest first.
func (s *Service) Attempts(ctx context.Context, messageID int64) ([]Attempt, error) {
	rows, err := s.db.Query(ctx, `SELECT n, at, http_status, latency_us, error, response
		FROM webhook_attempts WHERE message_id = ? ORDER BY n`, messageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var at, lat int64
		if err := rows.Scan(&a.N, &at, &a.HTTPStatus, &lat, &a.Error, &a.Response); err != nil {
			return nil, err
		}
		a.At = time.UnixMicro(at)
		a.Latency = time.Duration(lat) * time.Microsecond
		out = append(out, a)
	}
	return out, rows.Err()
}
