// Package incoming records money that arrived on one of the platform's
// channels, as a bank-mutation or acquirer feed reports it, and matches it
// to exactly one payment invoice or deposit:
//
//   - qris:<store_id> pays the store's invoice whose total is the amount
//     (payment.Service.PayTx), in the same transaction as the record;
//   - bank:<code> completes the unpaid deposit on that bank whose price is
//     the amount, through funding.Service.Confirm. The record is written
//     first as "matching" with the deposit's reference, then Confirm runs
//     in its own transaction, then the record becomes "matched"; a crash
//     in between is resumed (Resume), and a Confirm refused because the
//     deposit was already confirmed by this record counts as matched.
//
// A record is idempotent by (channel, external_id): posting it again
// returns the first result and moves no money. A record that matches
// nothing is kept as unmatched with the reason, for an operator; it is
// never credited to another invoice by guesswork.
package incoming

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/payment"
)

// Statuses of a record.
const (
	Matching  = "matching"  // a bank record whose deposit is being confirmed
	Matched   = "matched"   // it paid Reference
	Unmatched = "unmatched" // it paid nothing; Reason says why
)

// Limits of a record's fields.
const (
	MaxExternalIDLen = 100
	MaxNoteLen       = 200
	// MaxClockSkew is how far in the future a received_at may lie.
	MaxClockSkew = 5 * time.Minute
)

// Record is money received, as the feed reports it.
type Record struct {
	Channel    string // "qris:<store_id>" or "bank:<code>"
	Amount     int64
	ReceivedAt time.Time
	ExternalID string // the feed's id of the record
	Note       string
}

// Result is what became of a record.
type Result struct {
	ID        int64
	Status    string // Matched or Unmatched (Matching only if confirming failed mid-way)
	Reference string // the invoice or deposit it paid
	Reason    string // why it is unmatched
	Replayed  bool   // the record had been posted before; nothing moved now
}

// Service matches incoming funds.
type Service struct {
	db       *db.DB
	payments *payment.Service
	funds    *funding.Service
	now      func() time.Time
	logger   *slog.Logger
}

// New returns a Service on d that pays invoices through payments and
// confirms deposits through funds.
func New(d *db.DB, payments *payment.Service, funds *funding.Service, now func() time.Time, logger *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{db: d, payments: payments, funds: funds, now: now, logger: logger}
}

// channel is a parsed channel name.
type channel struct {
	store int64  // for qris:<store_id>
	bank  string // for bank:<code>
}

func parseChannel(s string) (channel, error) {
	kind, rest, _ := strings.Cut(s, ":")
	switch kind {
	case "qris":
		id, err := strconv.ParseInt(rest, 10, 64)
		if err == nil && id > 0 && strconv.FormatInt(id, 10) == rest {
			return channel{store: id}, nil
		}
	case "bank":
		if funding.ValidBankCode(rest) {
			return channel{bank: rest}, nil
		}
	}
	return channel{}, fault.Field(fault.Invalid, "channel", "must be qris:<store_id> or bank:<code> (a bank code in lower case)")
}

// check normalizes and checks r.
func (r *Record) check(now time.Time) (channel, error) {
	r.Channel = strings.TrimSpace(r.Channel)
	r.ExternalID = strings.TrimSpace(r.ExternalID)
	r.Note = strings.TrimSpace(r.Note)
	if r.Channel == "" {
		return channel{}, fault.Field(fault.Missing, "channel", "is required")
	}
	ch, err := parseChannel(r.Channel)
	if err != nil {
		return channel{}, err
	}
	switch {
	case r.Amount <= 0:
		return channel{}, fault.Field(fault.Invalid, "amount", "must be a positive whole number of rupiah")
	case r.ExternalID == "":
		return channel{}, fault.Field(fault.Missing, "external_id", "is required")
	case len(r.ExternalID) > MaxExternalIDLen || !printable(r.ExternalID):
		return channel{}, fault.Field(fault.Invalid, "external_id", "must be at most %d printable characters", MaxExternalIDLen)
	case utf8.RuneCountInString(r.Note) > MaxNoteLen || !utf8.ValidString(r.Note):
		return channel{}, fault.Field(fault.Invalid, "note", "must be valid text of at most %d characters", MaxNoteLen)
	case r.ReceivedAt.IsZero():
		return channel{}, fault.Field(fault.Missing, "received_at", "is required")
	case r.ReceivedAt.After(now.Add(MaxClockSkew)):
		return channel{}, fault.Field(fault.Invalid, "received_at", "lies in the future")
	}
	r.ReceivedAt = r.ReceivedAt.UTC().Truncate(time.Microsecond)
	return ch, nil
}

func printable(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == utf8.RuneError {
			return false
		}
	}
	return true
}

// writeAttempts bounds the retries of a record that lost a race (the same
// external_id, or the same invoice, at the same instant on PostgreSQL).
const writeAttempts = 5

// Post records r, reported by by (an operator's name, "sandbox", …), and
// matches it. The same channel and external_id posted again returns the
// first result with Replayed set (a bank record left matching by a crash
// is finished first); with a different amount it is a fault.Conflict about
// "external_id". When hook is set it runs inside the transaction that
// first records r (never on a replay), with the result; its error undoes
// the record (the operator API writes its audit entry there).
func (s *Service) Post(ctx context.Context, r Record, by string, hook func(tx *db.Tx, res Result) error) (Result, error) {
	by = strings.TrimSpace(by)
	if by == "" {
		return Result{}, fault.Field(fault.Missing, "by", "who posts the record is required")
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	ch, err := r.check(now)
	if err != nil {
		return Result{}, err
	}
	var res Result
	for try := 0; ; try++ {
		res, err = s.write(ctx, r, ch, by, hook)
		if err != nil && try < writeAttempts && (errors.Is(err, db.ErrConflict) || fault.CodeOf(err) == fault.Conflict && fault.FieldOf(err) == "") {
			continue
		}
		break
	}
	if err != nil {
		return Result{}, err
	}
	if res.Status == Matching {
		return s.confirm(ctx, res)
	}
	return res, nil
}

// write records r and, on a QRIS channel, pays the invoice, all in one
// transaction; on a bank channel it names the deposit to confirm.
func (s *Service) write(ctx context.Context, r Record, ch channel, by string, hook func(tx *db.Tx, res Result) error) (Result, error) {
	var res Result
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		res = Result{}
		now := s.now().UTC().Truncate(time.Microsecond)
		// What the record pays is found first, without writing, so that the
		// record is inserted once, already decided; a replay, rare, finds
		// the first record at the insert and throws the lookup away.
		var (
			match payment.Match
			err   error
		)
		if ch.store != 0 {
			match, err = s.payments.MatchTx(tx, payment.Payment{StoreID: ch.store, Amount: r.Amount, ReceivedAt: r.ReceivedAt})
			switch {
			case errors.Is(err, payment.ErrNoMatch):
				res.Status, res.Reason = Unmatched, "no invoice of the store waits for this amount"
			case err != nil:
				return err
			default:
				res.Status, res.Reference = Matched, match.Invoice.Invoice
			}
		} else {
			ref, err := funding.OpenDepositTx(tx, ch.bank, r.Amount, r.ReceivedAt)
			if err != nil {
				return err
			}
			if ref == "" {
				res.Status, res.Reason = Unmatched, "no open deposit on this bank has this amount"
			} else {
				res.Status, res.Reference = Matching, ref
			}
		}
		inserted := false
		res.ID, inserted, err = insertRecord(tx, r, res, by, now)
		if err != nil {
			return err
		}
		if !inserted {
			var amount int64
			res = Result{Replayed: true}
			err := tx.QueryRow(`SELECT id, amount, status, reference, reason FROM incoming_funds WHERE channel = ? AND external_id = ?`,
				r.Channel, r.ExternalID).Scan(&res.ID, &amount, &res.Status, &res.Reference, &res.Reason)
			if err != nil {
				return err
			}
			if amount != r.Amount {
				return fault.Field(fault.Conflict, "external_id", "external_id %q was posted on %s with another amount (%d)", r.ExternalID, r.Channel, amount)
			}
			return nil
		}
		if res.Status == Matched {
			if err := s.payments.SettleTx(tx, &match, Actor(res.ID)); err != nil {
				return err
			}
		}
		if hook != nil {
			return hook(tx, res)
		}
		return nil
	})
	return res, err
}

// insertRecord records r with the outcome res unless the channel already
// has its external_id: then inserted is false and nothing is written.
func insertRecord(tx *db.Tx, r Record, res Result, by string, now time.Time) (id int64, inserted bool, err error) {
	const q = `INSERT INTO incoming_funds (channel, external_id, amount, received_at, note, status, reference, reason,
		posted_by, created_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, external_id) DO NOTHING`
	args := []any{r.Channel, r.ExternalID, r.Amount, r.ReceivedAt.UnixMicro(), r.Note, res.Status, res.Reference, res.Reason,
		by, now.UnixMicro(), now.UnixMicro()}
	if tx.Dialect() == db.Postgres {
		err := tx.QueryRow(q+" RETURNING id", args...).Scan(&id)
		if errors.Is(err, db.ErrNotFound) {
			return 0, false, nil
		}
		return id, err == nil, err
	}
	// SQLite: the connection's last inserted rowid, read only when a row
	// was inserted (it is stale otherwise); see db.Tx.InsertID.
	out, err := tx.Exec(q, args...)
	if err != nil {
		return 0, false, err
	}
	if n, err := out.RowsAffected(); err != nil || n == 0 {
		return 0, false, err
	}
	id, err = out.LastInsertId()
	return id, err == nil, err
}

// Actor is how a record names itself as the payer of an invoice or the
// confirmer of a deposit.
func Actor(id int64) string { return fmt.Sprintf("incoming:%d", id) }

// confirm completes the deposit a matching bank record names and records
// the outcome.
func (s *Service) confirm(ctx context.Context, res Result) (Result, error) {
	actor := Actor(res.ID)
	_, err := s.funds.Confirm(ctx, res.Reference, actor)
	switch fault.CodeOf(err) {
	case "":
		res.Status = Matched
	case fault.Conflict, fault.NotFound:
		// Already decided: by this record before a crash, or by someone
		// else (an operator, the expiry) — then the money matched nothing.
		status, by, lerr := s.funds.LastDecision(ctx, res.Reference)
		if lerr != nil && !errors.Is(lerr, db.ErrNotFound) {
			return Result{}, lerr
		}
		if status == funding.Success && by == actor {
			res.Status = Matched
		} else {
			res.Status, res.Reason = Unmatched, "the deposit was decided otherwise before this money was matched: "+err.Error()
		}
	default:
		return Result{}, err
	}
	if res.Status == Unmatched {
		res.Reference = ""
	}
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`UPDATE incoming_funds SET status = ?, reference = ?, reason = ?, decided_at = ?
			WHERE id = ? AND status = 'matching'`, res.Status, res.Reference, res.Reason, s.now().UnixMicro(), res.ID)
		return err
	})
	return res, err
}

// Resume finishes the bank records a crash left matching, and returns how
// many it finished.
func (s *Service) Resume(ctx context.Context) (int, error) {
	rows, err := s.db.Query(ctx, "SELECT id, reference FROM incoming_funds WHERE status = 'matching' ORDER BY id LIMIT 100")
	if err != nil {
		return 0, err
	}
	var todo []Result
	for rows.Next() {
		r := Result{Status: Matching}
		if err := rows.Scan(&r.ID, &r.Reference); err != nil {
			rows.Close()
			return 0, err
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for i, r := range todo {
		if _, err := s.confirm(ctx, r); err != nil {
			return i, err
		}
	}
	return len(todo), nil
}

// Get returns record id.
func (s *Service) Get(ctx context.Context, id int64) (Record, Result, error) {
	var rec Record
	res := Result{ID: id}
	var at int64
	err := s.db.QueryRow(ctx, `SELECT channel, external_id, amount, received_at, note, status, reference, reason
		FROM incoming_funds WHERE id = ?`, id).Scan(&rec.Channel, &rec.ExternalID, &rec.Amount, &at, &rec.Note,
		&res.Status, &res.Reference, &res.Reason)
	if errors.Is(err, db.ErrNotFound) {
		return Record{}, Result{}, fault.New(fault.NotFound, "no incoming record %d", id)
	}
	rec.ReceivedAt = time.UnixMicro(at).UTC()
	return rec, res, err
}

// RunResume finishes records left matching, now and then every interval,
// until ctx ends. Errors are logged and the loop goes on.
func (s *Service) RunResume(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Resume(ctx); err != nil && ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "incoming: resuming matches", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
