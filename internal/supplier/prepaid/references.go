package prepaid

import (
	"context"
	"errors"
	"time"

	"kios/internal/db"
)

// References records, per supplier, the supplier's own reference of each
// order we placed with it: the reference documents' webhooks name only
// theirs.
type References struct {
	db  *db.DB
	now func() time.Time
}

// NewReferences returns the record on d.
func NewReferences(d *db.DB, now func() time.Time) *References {
	if now == nil {
		now = time.Now
	}
	return &References{db: d, now: now}
}

// Remember records that supplier calls our order ours by theirs. Recording
// the same pair again is not an error (and is not written again).
func (r *References) Remember(ctx context.Context, supplier, ours, theirs string) error {
	if _, ok, err := r.Theirs(ctx, supplier, ours); err != nil || ok {
		return err
	}
	return r.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`INSERT INTO supplier_orders (supplier, reference, supplier_reference, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, supplier, ours, theirs, r.now().UnixMicro())
		return err
	})
}

// Theirs returns the supplier's reference of our order ours; ok is false
// when none is recorded.
func (r *References) Theirs(ctx context.Context, supplier, ours string) (theirs string, ok bool, err error) {
	err = r.db.QueryRow(ctx, "SELECT supplier_reference FROM supplier_orders WHERE supplier = ? AND reference = ?", supplier, ours).Scan(&theirs)
	if errors.Is(err, db.ErrNotFound) {
		return "", false, nil
	}
	return theirs, err == nil, err
}

// Ours returns our reference of the order the supplier calls theirs; ok is
// false when none is recorded.
func (r *References) Ours(ctx context.Context, supplier, theirs string) (ours string, ok bool, err error) {
	err = r.db.QueryRow(ctx, "SELECT reference FROM supplier_orders WHERE supplier = ? AND supplier_reference = ? ORDER BY created_at LIMIT 1",
		supplier, theirs).Scan(&ours)
	if errors.Is(err, db.ErrNotFound) {
		return "", false, nil
	}
	return ours, err == nil, err
}
