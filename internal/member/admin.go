package member

import (
	"context"
	"errors"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/reference"
)

// What operators do with members: list and search them, change them, look
// at their money, adjust their balance, manage their credentials. Every
// change takes an also hook that runs inside the change's transaction (the
// operator API records its audit entry there).

// Listed is a member as a list shows it.
type Listed struct {
	Member
	Upline  string // the upline's username, "" for none
	Balance int64
}

// listCols are the columns scanListed reads; m is members, u the upline,
// a the account.
const listCols = "m.id, m.username, m.level, m.upline_id, m.active, m.api_access, m.account_id, m.created_at, " +
	"COALESCE(u.username, ''), a.balance"

const listFrom = " FROM members m JOIN accounts a ON a.id = m.account_id LEFT JOIN members u ON u.id = m.upline_id"

func scanListed(row scanner) (Listed, error) {
	var l Listed
	var err error
	l.Member, err = scanMember(row, &l.Upline, &l.Balance)
	return l, err
}

// List returns the members whose username contains q (any case; "" for
// all), by username, limit of them after skipping offset, with how many
// match and the sum of their balances.
func (s *Store) List(ctx context.Context, q string, limit, offset int) (items []Listed, total, balances int64, err error) {
	cond, args := "", []any{}
	if q = strings.ToLower(strings.TrimSpace(q)); q != "" {
		cond = ` WHERE m.username LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscaper.Replace(q)+"%")
	}
	err = s.db.Read(ctx, func(tx *db.Tx) error {
		items = nil
		if err := tx.QueryRow("SELECT COUNT(*), COALESCE(SUM(a.balance), 0)"+listFrom+cond, args...).Scan(&total, &balances); err != nil {
			return err
		}
		rows, err := tx.Query("SELECT "+listCols+listFrom+cond+" ORDER BY m.username LIMIT ? OFFSET ?", append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanListed(rows)
			if err != nil {
				return err
			}
			items = append(items, l)
		}
		return rows.Err()
	})
	return items, total, balances, err
}

// likeEscaper makes a search text match itself literally in a LIKE
// pattern with ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// Profile returns the member with username, with its upline and balance;
// fault.NotFound when there is none.
func (s *Store) Profile(ctx context.Context, username string) (Listed, error) {
	l, err := scanListed(s.db.QueryRow(ctx, "SELECT "+listCols+listFrom+" WHERE m.username = ?", NormalizeUsername(username)))
	if errors.Is(err, db.ErrNotFound) {
		return Listed{}, errNoMember
	}
	return l, err
}

// Changes are the settings Update changes; nil fields stay as they are.
type Changes struct {
	Level     *string
	Active    *bool
	APIAccess *bool
}

// Update changes member id's level, active switch and API access, and
// runs also (when not nil) with the member before and after, in one
// transaction. A level that does not exist is a fault about "level"; no
// change at all is a fault.Missing.
func (s *Store) Update(ctx context.Context, id int64, c Changes, also func(tx *db.Tx, before, after Member) error) (Member, error) {
	if c.Level == nil && c.Active == nil && c.APIAccess == nil {
		return Member{}, fault.New(fault.Missing, "nothing to change: give level, active or api_access")
	}
	if c.Level != nil {
		l := strings.TrimSpace(*c.Level)
		if l == "" {
			return Member{}, fault.Field(fault.Missing, "level", "is required")
		}
		c.Level = &l
	}
	now := s.clock()
	defer s.forgetAuth()
	var after Member
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		before, err := scanMember(tx.QueryRow("SELECT "+memberCols+" FROM members WHERE id = ?", id))
		if errors.Is(err, db.ErrNotFound) {
			return errNoMember
		}
		if err != nil {
			return err
		}
		after = before
		if c.Level != nil {
			if err := checkLevel(tx, *c.Level); err != nil {
				return err
			}
			after.Level = *c.Level
		}
		if c.Active != nil {
			after.Active = *c.Active
		}
		if c.APIAccess != nil {
			after.APIAccess = *c.APIAccess
		}
		if _, err := tx.Exec("UPDATE members SET level = ?, active = ?, api_access = ?, updated_at = ? WHERE id = ?",
			after.Level, after.Active, after.APIAccess, now.UnixMicro(), id); err != nil {
			return err
		}
		if also == nil {
			return nil
		}
		return also(tx, before, after)
	})
	if err != nil {
		return Member{}, err
	}
	return after, nil
}

// RevokeCredentialWith revokes member memberID's credential credID at
// once and runs also (when not nil) with it, in one transaction. A
// credential that does not exist, is another member's or is revoked
// already is fault.NotFound.
func (s *Store) RevokeCredentialWith(ctx context.Context, memberID, credID int64, also func(tx *db.Tx, c Credential) error) error {
	now := s.clock()
	defer s.forgetAuth()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		n, err := tx.ExecAffected("UPDATE credentials SET revoked_at = ? WHERE id = ? AND member_id = ? AND revoked_at IS NULL",
			now.UnixMicro(), credID, memberID)
		if err != nil {
			return err
		}
		if n == 0 {
			return fault.New(fault.NotFound, "no live credential %d of this member", credID)
		}
		if also == nil {
			return nil
		}
		c, err := scanCredential(tx.QueryRow("SELECT "+credentialCols+" FROM credentials c WHERE c.id = ?", credID))
		if err != nil {
			return err
		}
		return also(tx, c)
	})
}

// Downlines returns the members whose upline is member id, by join date,
// limit of them after skipping offset, and how many there are.
func (s *Store) Downlines(ctx context.Context, id int64, limit, offset int) (items []Listed, total int64, err error) {
	err = s.db.Read(ctx, func(tx *db.Tx) error {
		items = nil
		if err := tx.QueryRow("SELECT COUNT(*) FROM members WHERE upline_id = ?", id).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query("SELECT "+listCols+listFrom+" WHERE m.upline_id = ? ORDER BY m.created_at, m.id LIMIT ? OFFSET ?",
			id, limit, offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanListed(rows)
			if err != nil {
				return err
			}
			items = append(items, l)
		}
		return rows.Err()
	})
	return items, total, err
}

// Movement is one change of a member's balance: a posting to its ledger
// account, with its entry.
type Movement struct {
	EntryID   int64
	At        time.Time
	Kind      string // the ledger entry's kind: "deposit", "order_refund", …
	Type      string // MovementDeposit, MovementWithdraw, MovementOrder, MovementAdjustment, or Kind
	Reference string
	Amount    int64 // positive: into the balance; negative: out of it
	Memo      string
}

// The types of movement, each a set of ledger entry kinds.
const (
	MovementDeposit    = "deposit"
	MovementWithdraw   = "withdraw"
	MovementOrder      = "order"
	MovementAdjustment = "adjustment"
)

// movementKinds are the entry kinds of each movement type.
var movementKinds = map[string][]string{
	MovementDeposit:    {"deposit"},
	MovementWithdraw:   {"withdrawal", "withdrawal_return"},
	MovementOrder:      {"order", "order_refund", "refund"},
	MovementAdjustment: {"adjustment"},
}

func movementType(kind string) string {
	for t, ks := range movementKinds {
		for _, k := range ks {
			if k == kind {
				return t
			}
		}
	}
	return kind
}

// HistoryFilter selects a member's movements; zero fields select all.
type HistoryFilter struct {
	Type     string // a movement type
	From, To time.Time
}

// History returns member id's movements that f selects, newest first,
// limit of them after skipping offset, with how many there are and the sum
// of their amounts.
func (s *Store) History(ctx context.Context, id int64, f HistoryFilter, limit, offset int) (items []Movement, total, sum int64, err error) {
	where := []string{"m.id = ?"}
	args := []any{id}
	if f.Type != "" {
		kinds, ok := movementKinds[f.Type]
		if !ok {
			return nil, 0, 0, fault.Field(fault.Invalid, "type", "must be deposit, withdraw, order or adjustment")
		}
		where = append(where, "e.kind IN (?"+strings.Repeat(", ?", len(kinds)-1)+")")
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	if !f.From.IsZero() {
		where, args = append(where, "e.created_at >= ?"), append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		where, args = append(where, "e.created_at < ?"), append(args, f.To.UnixMicro())
	}
	from := " FROM members m JOIN postings p ON p.account_id = m.account_id JOIN entries e ON e.id = p.entry_id WHERE " +
		strings.Join(where, " AND ")
	err = s.db.Read(ctx, func(tx *db.Tx) error {
		items = nil
		if err := tx.QueryRow("SELECT COUNT(*), COALESCE(SUM(p.amount), 0)"+from, args...).Scan(&total, &sum); err != nil {
			return err
		}
		rows, err := tx.Query("SELECT e.id, e.created_at, e.kind, e.reference, p.amount, e.memo"+from+
			" ORDER BY e.created_at DESC, e.id DESC LIMIT ? OFFSET ?", append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var mv Movement
			var at int64
			if err := rows.Scan(&mv.EntryID, &at, &mv.Kind, &mv.Reference, &mv.Amount, &mv.Memo); err != nil {
				return err
			}
			mv.At = time.UnixMicro(at).UTC()
			mv.Type = movementType(mv.Kind)
			items = append(items, mv)
		}
		return rows.Err()
	})
	return items, total, sum, err
}

// Directions of an adjustment.
const (
	Credit = "credit"
	Debit  = "debit"
)

// AdjustmentPrefix starts the references of manual adjustments.
const AdjustmentPrefix = "ADJ"

// Adjustment is a manual balance change.
type Adjustment struct {
	Reference string
	MemberID  int64
	Direction string
	Amount    int64
	Before    int64 // the balance before
	After     int64 // the balance after
	At        time.Time
}

// Adjust changes member id's balance by hand: a credit moves amount from
// system:adjust to the member, a debit from the member to system:adjust,
// as one ledger entry of kind "adjustment" whose memo is the operator by
// and the comment; also (when not nil) runs in the same transaction. A
// debit larger than the balance is fault.Insufficient and writes nothing.
func (s *Store) Adjust(ctx context.Context, id int64, direction string, amount int64, by, comment string,
	also func(tx *db.Tx, a Adjustment) error) (Adjustment, error) {
	direction = strings.ToLower(strings.TrimSpace(direction))
	if direction != Credit && direction != Debit {
		return Adjustment{}, fault.Field(fault.Invalid, "direction", "must be credit or debit")
	}
	if amount <= 0 {
		return Adjustment{}, fault.Field(fault.Invalid, "amount", "must be a positive whole number of rupiah")
	}
	var a Adjustment
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.clock()
		a = Adjustment{Reference: reference.New(AdjustmentPrefix, now), MemberID: id, Direction: direction, Amount: amount, At: now}
		var acct int64
		err := tx.QueryRow("SELECT account_id FROM members WHERE id = ?", id).Scan(&acct)
		if errors.Is(err, db.ErrNotFound) {
			return errNoMember
		}
		if err != nil {
			return err
		}
		if err := ledger.EnsureSystem(tx, now); err != nil {
			return err
		}
		adj, err := ledger.AccountByCode(tx, ledger.Adjust)
		if err != nil {
			return err
		}
		signed := amount
		if direction == Debit {
			signed = -amount
		}
		if _, err := ledger.Post(tx, ledger.Entry{Kind: "adjustment", Reference: a.Reference, Memo: by + ": " + comment,
			Postings: []ledger.Posting{{Account: acct, Amount: signed}, {Account: adj.ID, Amount: -signed}}}, now); err != nil {
			if errors.Is(err, ledger.ErrInsufficientFunds) {
				return &fault.Error{Code: fault.Insufficient, Field: "amount",
					Detail: "the debit is larger than the balance; a balance cannot go below zero", Err: err}
			}
			return err
		}
		// Read after the guarded update, under its row lock; Before is
		// derived from it (an unlocked read before could see a balance
		// another transaction was about to change).
		if err := tx.QueryRow("SELECT balance FROM accounts WHERE id = ?", acct).Scan(&a.After); err != nil {
			return err
		}
		a.Before = a.After - signed
		if also == nil {
			return nil
		}
		return also(tx, a)
	})
	if err != nil {
		return Adjustment{}, err
	}
	return a, nil
}
