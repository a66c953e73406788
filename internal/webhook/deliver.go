package webhook

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"kios/internal/db"
)

// Backoff is the delay before each retry of a message whose attempt failed:
// the first retry 10 s after the first attempt, and so on. After the attempt
// that follows the last delay fails, the message is given up (failed). Each
// delay is jittered by ±Jitter.
var Backoff = []time.Duration{
	10 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 24 * time.Hour,
}

// Jitter is the fraction by which each Backoff delay is randomly lengthened
// or shortened, so that retries of many messages spread out.
const Jitter = 0.10

// maxErrorText bounds the error text kept per attempt.
const maxErrorText = 1024

// claimed is a message a worker holds, with what sending it needs.
type claimed struct {
	id        int64
	memberID  int64
	kind      string
	reference string
	payload   []byte
	attempts  int
	url       string
	secret    string // sealed
	previous  string // sealed, "" when not signing any more
}

// Run delivers due messages until ctx ends, then waits for the deliveries
// in flight to finish and be recorded. It looks for due messages when poked
// (Poke), when a delivery ends, and every PollInterval. Several Run loops,
// in one process or in several processes sharing a PostgreSQL database,
// never hold one message at the same time.
func (s *Service) Run(ctx context.Context) {
	workers := max(1, s.Workers)
	poll := s.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	recs := make(chan *recording, workers)
	recorded := make(chan struct{})
	go func() { s.recorder(context.WithoutCancel(ctx), recs, workers); close(recorded) }()
	defer func() {
		wg.Wait()
		close(recs)
		<-recorded
	}()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	// Claim in batches of at least a quarter of the slots unless nothing
	// is in flight, rather than one message each time one slot frees.
	batch := max(1, workers/4)
	for {
		if ctx.Err() != nil {
			return
		}
		free := workers - len(sem)
		var ms []claimed
		if free >= batch || free == workers {
			var err error
			ms, err = s.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				s.logger.Error("webhook: claim failed", "err", err)
			}
		}
		for _, m := range ms {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done(); s.Poke() }()
				// A delivery started is finished and recorded even
				// when ctx ends meanwhile; the client's timeout bounds it.
				r := &recording{m: m, o: s.attempt(context.WithoutCancel(ctx), m), done: make(chan struct{})}
				recs <- r
				<-r.done
			}()
		}
		if len(ms) > 0 && len(ms) == free {
			continue // there may be more due right now
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// recording is a finished attempt waiting to be recorded; done closes when
// it was (or could not be).
type recording struct {
	m    claimed
	o    outcome
	done chan struct{}
}

// recorder records finished attempts until recs closes: it takes every
// attempt waiting (up to max) and records them in one transaction, so that
// a busy outbox costs one commit per batch rather than per delivery. When
// the batch fails (an OnDelivered error, say), each is recorded on its own,
// so that one attempt's failure does not undo another's record.
func (s *Service) recorder(ctx context.Context, recs <-chan *recording, max int) {
	for r := range recs {
		batch := []*recording{r}
	more:
		for len(batch) < max {
			select {
			case r, ok := <-recs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		err := s.db.Write(ctx, func(tx *db.Tx) error { return s.recordTx(tx, batch...) })
		if err != nil && len(batch) > 1 {
			for _, r := range batch {
				if err := s.db.Write(ctx, func(tx *db.Tx) error { return s.recordTx(tx, r) }); err != nil {
					s.logger.Error("webhook: recording an attempt failed", "message", r.m.id, "err", err)
				}
			}
		} else if err != nil {
			// The lease runs out and the message is tried again.
			s.logger.Error("webhook: recording an attempt failed", "message", r.m.id, "err", err)
		}
		for _, r := range batch {
			close(r.done)
		}
	}
}

// deliverDue claims every due message, delivers them and waits for the
// outcomes; it returns how many it delivered or tried. Tests use it to step
// through the schedule.
func (s *Service) deliverDue(ctx context.Context) int {
	n := 0
	for {
		ms, err := s.claim(ctx, 64)
		if err != nil || len(ms) == 0 {
			return n
		}
		var wg sync.WaitGroup
		for _, m := range ms {
			wg.Add(1)
			go func() { defer wg.Done(); s.deliver(ctx, m) }()
		}
		wg.Wait()
		n += len(ms)
	}
}

// claim leases up to limit due messages, the longest due first (then the
// oldest), leaving out any whose member and reference have an earlier
// message still pending: a later status never overtakes an earlier one. A
// message given up (failed) does not hold back later ones. The order is
// that of the partial index webhook_messages_due, so that a claim reads
// only pending rows, however many were delivered before them.
func (s *Service) claim(ctx context.Context, limit int) ([]claimed, error) {
	if limit <= 0 {
		return nil, nil
	}
	var ms []claimed
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		if tx.Dialect() == db.Postgres {
			ms, err = s.claimPostgres(tx, limit)
		} else {
			ms, err = s.claimSQLite(tx, limit)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ms, func(a, b claimed) int { return cmp.Compare(a.id, b.id) })
	return ms, nil
}

// dueWhere is the condition of a claimable message m: pending, due, not
// leased, and the first pending one of its member and reference.
const dueWhere = `m.status = 'pending' AND m.next_at <= ? AND m.lease_until <= ?
	AND (m.reference = '' OR NOT EXISTS (SELECT 1 FROM webhook_messages p
		WHERE p.member_id = m.member_id AND p.reference = m.reference
		AND p.status = 'pending' AND p.id < m.id))`

// claimedColumns are the columns of a claimed message m with its endpoint
// e, in the order scanClaimed reads them.
const claimedColumns = `m.id, m.member_id, m.kind, m.reference, m.payload, m.attempts,
	CASE WHEN m.url <> '' THEN m.url ELSE e.url END, e.secret,
	CASE WHEN e.previous_until > ? THEN e.previous_secret ELSE '' END`

// claimPostgres leases due messages in one statement: the due rows are
// locked (skipping those another claim holds), leased and returned with
// their endpoints in one round trip.
func (s *Service) claimPostgres(tx *db.Tx, limit int) ([]claimed, error) {
	now := s.now().UnixMicro()
	rows, err := tx.Query(`UPDATE webhook_messages AS m SET lease_until = ?
		FROM webhook_endpoints e
		WHERE e.member_id = m.member_id AND m.id IN (SELECT m.id FROM webhook_messages m
			WHERE `+dueWhere+`
			ORDER BY m.next_at, m.id LIMIT ? FOR UPDATE SKIP LOCKED)
		RETURNING `+claimedColumns,
		s.now().Add(s.lease).UnixMicro(), now, now, limit, now)
	if err != nil {
		return nil, err
	}
	return scanClaimed(rows)
}

// claimSQLite leases due messages: a read, then one update of their
// leases. SQLite's single writer makes the two atomic.
func (s *Service) claimSQLite(tx *db.Tx, limit int) ([]claimed, error) {
	now := s.now()
	rows, err := tx.Query(`SELECT `+claimedColumns+`
		FROM webhook_messages m JOIN webhook_endpoints e ON e.member_id = m.member_id
		WHERE `+dueWhere+`
		ORDER BY m.next_at, m.id LIMIT ?`, now.UnixMicro(), now.UnixMicro(), now.UnixMicro(), limit)
	if err != nil {
		return nil, err
	}
	ms, err := scanClaimed(rows)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	args := []any{now.Add(s.lease).UnixMicro()}
	for _, m := range ms {
		args = append(args, m.id)
	}
	_, err = tx.Exec("UPDATE webhook_messages SET lease_until = ? WHERE id IN (?"+
		strings.Repeat(", ?", len(ms)-1)+")", args...)
	return ms, err
}

// scanClaimed reads and closes rows of claimedColumns.
func scanClaimed(rows *sql.Rows) ([]claimed, error) {
	defer rows.Close()
	var ms []claimed
	for rows.Next() {
		var m claimed
		var payload string
		if err := rows.Scan(&m.id, &m.memberID, &m.kind, &m.reference, &payload, &m.attempts,
			&m.url, &m.secret, &m.previous); err != nil {
			return nil, err
		}
		m.payload = []byte(payload)
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// MessageID is the webhook-id of the message with the given outbox id: the
// same across retries and redeliveries, so that a receiver can drop
// duplicates.
func MessageID(id int64) string { return "msg_" + strconv.FormatInt(id, 10) }

// outcome is what one attempt came to.
type outcome struct {
	at        time.Time
	status    int
	latency   time.Duration
	body      []byte
	err       string // "" when delivered
	delivered bool
}

// deliver makes one attempt at m and records it.
func (s *Service) deliver(ctx context.Context, m claimed) {
	o := s.attempt(ctx, m)
	if err := s.record(ctx, m, o); err != nil {
		// The lease runs out and the message is tried again.
		s.logger.Error("webhook: recording an attempt failed", "message", m.id, "err", err)
	}
}

// attempt signs and posts m and judges the answer.
func (s *Service) attempt(ctx context.Context, m claimed) outcome {
	o := outcome{at: s.now()}
	secrets := make([]string, 0, 2)
	for _, sealed := range []string{m.secret, m.previous} {
		if sealed == "" {
			continue
		}
		secret, err := s.keys.Open(sealed)
		if err != nil {
			o.err = "signing secret: " + err.Error()
			return o
		}
		secrets = append(secrets, secret)
	}
	h, err := Sign(secrets, MessageID(m.id), o.at, m.payload)
	if err != nil {
		o.err = "signing: " + err.Error()
		return o
	}
	hdr := make(http.Header, 5)
	h.Set(hdr)
	resp, err := s.client.Post(ctx, m.url, hdr, m.payload)
	o.status, o.latency, o.body = resp.StatusCode, resp.Latency, resp.Body
	switch {
	case err != nil:
		o.err = err.Error()
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		o.err = fmt.Sprintf("HTTP %d", resp.StatusCode)
	default:
		if st, ok := bodyStatus(resp.Body); ok && st >= 400 {
			o.err = fmt.Sprintf("HTTP %d with status %v in the body", resp.StatusCode, st)
		} else {
			o.delivered = true
		}
	}
	return o
}

// bodyStatus returns the numeric "status" of a JSON object body. A body
// that is not a JSON object (or was cut at 1 KiB) has none.
func bodyStatus(body []byte) (float64, bool) {
	var v struct {
		Status any `json:"status"`
	}
	if json.Unmarshal(body, &v) != nil {
		return 0, false
	}
	f, ok := v.Status.(float64)
	return f, ok
}

// record stores the attempt and the message's next state: delivered,
// scheduled for a retry, or given up.
func (s *Service) record(ctx context.Context, m claimed, o outcome) error {
	return s.db.Write(ctx, func(tx *db.Tx) error { return s.recordTx(tx, &recording{m: m, o: o}) })
}

// recordTx records finished attempts inside the caller's transaction, in
// a fixed number of statements whatever their number: one insert of every
// attempt, numbered after the message's last, and one update of every
// message, each only while it is still pending; then OnDelivered for each
// delivered transaction_status.
func (s *Service) recordTx(tx *db.Tx, rs ...*recording) error {
	if len(rs) == 0 {
		return nil
	}
	now := s.now().UnixMicro()
	attempts := make([]any, 0, 7*len(rs))
	messages := make([]any, 0, 5*len(rs))
	var delivered []string // the references of delivered transaction_status
	anyDelivered := false
	for _, r := range rs {
		m, o := r.m, r.o
		n := m.attempts + 1
		status, nextAt, deliveredAt := StatusPending, int64(0), int64(0)
		switch {
		case o.delivered:
			status, deliveredAt, anyDelivered = StatusDelivered, now, true
			if m.kind == KindTransactionStatus {
				delivered = append(delivered, m.reference)
			}
		case n > len(Backoff):
			status = StatusFailed
		default:
			nextAt = o.at.Add(jitter(Backoff[n-1])).UnixMicro()
		}
		errText := o.err
		if len(errText) > maxErrorText {
			errText = errText[:maxErrorText]
		}
		attempts = append(attempts, m.id, o.at.UnixMicro(), o.status, o.latency.Microseconds(), text(errText), text(string(o.body)))
		messages = append(messages, m.id, status, n, nextAt, deliveredAt)
	}
	// The attempt's number follows the message's last one, so that the
	// numbers run on across redeliveries.
	if _, err := tx.Exec(`INSERT INTO webhook_attempts (message_id, n, at, http_status, latency_us, error, response)
		SELECT v.column1, COALESCE((SELECT MAX(a.n) FROM webhook_attempts a WHERE a.message_id = v.column1), 0) + 1,
			v.column2, v.column3, v.column4, v.column5, v.column6
		FROM (VALUES `+values(len(rs), "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT")+`) AS v`,
		attempts...); err != nil {
		return err
	}
	// next_at changes only for a retry; delivered_at is 0 while pending.
	if _, err := tx.Exec(`UPDATE webhook_messages SET status = v.column2, attempts = v.column3,
			next_at = CASE WHEN v.column2 = 'pending' THEN v.column4 ELSE webhook_messages.next_at END,
			lease_until = 0, delivered_at = v.column5
		FROM (VALUES `+values(len(rs), "BIGINT", "TEXT", "BIGINT", "BIGINT", "BIGINT")+`) AS v
		WHERE webhook_messages.id = v.column1 AND webhook_messages.status = 'pending'`,
		messages...); err != nil {
		return err
	}
	for _, ref := range delivered {
		if s.OnDelivered != nil {
			if err := s.OnDelivered(tx, ref); err != nil {
				return err
			}
		}
	}
	if anyDelivered {
		// A later message for the same reference may be due now.
		tx.AfterCommit(s.Poke)
	}
	return nil
}

// values returns n rows of placeholders for a VALUES list of columns of
// the given SQL types; the first row casts each, so that PostgreSQL knows
// the types of all (its columns are column1, column2, … on both
// databases).
func values(n int, types ...string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, t := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("CAST(? AS " + t + ")")
	}
	b.WriteByte(')')
	row := ", (?" + strings.Repeat(", ?", len(types)-1) + ")"
	for range n - 1 {
		b.WriteString(row)
	}
	return b.String()
}

// jitter returns d lengthened or shortened by up to Jitter of itself.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*2-1)*Jitter*float64(d))
}

// text makes b storable as TEXT on both databases: valid UTF-8, no NUL.
func text(b string) string {
	if !utf8.ValidString(b) {
		b = strings.ToValidUTF8(b, "\uFFFD")
	}
	return strings.ReplaceAll(b, "\x00", "")
}
