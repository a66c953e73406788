// Package audit is the operator audit log: who changed what, when, from
// what to what, and why. Every change made through the operator API
// records exactly one Entry, inside the transaction that makes the change,
// so that the change and its record commit or roll back together.
//
// The log is append-only. This package has no way to change or remove an
// entry, and the table's triggers (migration 0012) refuse UPDATE and
// DELETE from anywhere else.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
)

// MaxComment is the longest comment an entry may carry, in characters.
const MaxComment = 500

// Entry is one recorded change.
type Entry struct {
	ID         int64
	At         time.Time
	OperatorID int64
	Operator   string // the operator's username
	Action     string // what was done: "transaction.accept", "member.update", …
	TargetType string // what it was done to: "deposit", "member", "bank", …
	Target     string // which one: a reference, a username, an id
	// Before and After are what changed, as JSON ("" when not applicable:
	// a creation has no Before).
	Before  string
	After   string
	Comment string
}

// CheckComment trims an operator's comment and checks it: required, at
// most MaxComment characters, no control characters. Faults are about
// field "comment".
func CheckComment(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fault.Field(fault.Missing, "comment", "is required: say why")
	}
	n := 0
	for _, r := range s {
		if r == 0xFFFD || r < 0x20 || r == 0x7f {
			return "", fault.Field(fault.Invalid, "comment", "contains a character that is not allowed")
		}
		n++
	}
	if n > MaxComment {
		return "", fault.Field(fault.Invalid, "comment", "is longer than %d characters", MaxComment)
	}
	return s, nil
}

// JSON renders v for Before or After; nil is "".
func JSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(v))
	}
	return string(b)
}

// Record appends e to the log inside tx, the caller's transaction: the
// entry exists exactly when the change it describes does. e.At is the time
// of the change (UTC, microseconds); e.ID is ignored.
func Record(tx *db.Tx, e Entry) error {
	if e.OperatorID == 0 || e.Operator == "" || e.Action == "" {
		return fmt.Errorf("audit: entry without operator or action")
	}
	_, err := tx.Exec(`INSERT INTO audit_log (at, operator_id, operator, action, target_type, target, before_json, after_json, comment)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.At.UTC().UnixMicro(), e.OperatorID, e.Operator, e.Action, e.TargetType, e.Target, e.Before, e.After, e.Comment)
	if err != nil {
		return fmt.Errorf("audit: record: %w", err)
	}
	return nil
}

// Filter selects entries for List; zero fields select everything.
type Filter struct {
	Operator   string // username
	Action     string // exact, or a prefix ending in '.' ("transaction.")
	TargetType string
	Target     string
	From, To   time.Time // From ≤ At < To
}

// Log reads the audit log.
type Log struct{ db *db.DB }

// NewLog returns the audit log on d.
func NewLog(d *db.DB) *Log { return &Log{db: d} }

// Add appends e to the log in a transaction of its own, for a change that
// is made of several transactions (a supplier's catalog import) and so
// cannot record its entry in one of them. Prefer Record.
func (l *Log) Add(ctx context.Context, e Entry) error {
	return l.db.Write(ctx, func(tx *db.Tx) error { return Record(tx, e) })
}

// List returns the entries f selects, newest first, limit of them after
// skipping offset, and how many f selects in all.
func (l *Log) List(ctx context.Context, f Filter, limit, offset int) ([]Entry, int64, error) {
	var where []string
	var args []any
	if f.Operator != "" {
		where, args = append(where, "operator = ?"), append(args, strings.ToLower(f.Operator))
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			where, args = append(where, "SUBSTR(action, 1, ?) = ?"), append(args, len(f.Action), f.Action)
		} else {
			where, args = append(where, "action = ?"), append(args, f.Action)
		}
	}
	if f.TargetType != "" {
		where, args = append(where, "target_type = ?"), append(args, f.TargetType)
	}
	if f.Target != "" {
		where, args = append(where, "target = ?"), append(args, f.Target)
	}
	if !f.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, f.To.UnixMicro())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var out []Entry
	var total int64
	err := l.db.Read(ctx, func(tx *db.Tx) error {
		out = nil
		if err := tx.QueryRow("SELECT COUNT(*) FROM audit_log"+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(`SELECT id, at, operator_id, operator, action, target_type, target, before_json, after_json, comment
			FROM audit_log`+cond+" ORDER BY at DESC, id DESC LIMIT ? OFFSET ?", append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e Entry
			var at int64
			if err := rows.Scan(&e.ID, &at, &e.OperatorID, &e.Operator, &e.Action, &e.TargetType, &e.Target,
				&e.Before, &e.After, &e.Comment); err != nil {
				return err
			}
			e.At = time.UnixMicro(at).UTC()
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, total, err
}
