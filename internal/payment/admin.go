package payment

import (
	"context"
	"errors"
	"time"

	"kios/internal/db"
)

// ListedStore is a store with its owner's username, for the operator API.
type ListedStore struct {
	Store
	Owner string
}

// List returns the stores of member memberID (every store when it is 0),
// oldest first, one page of them (limit, offset), and how many there are
// in all.
func (s *Stores) List(ctx context.Context, memberID int64, limit, offset int) ([]ListedStore, int64, error) {
	var (
		out   []ListedStore
		total int64
	)
	err := s.db.Read(ctx, func(tx *db.Tx) error {
		out = nil
		if err := tx.QueryRow("SELECT COUNT(*) FROM stores WHERE ? = 0 OR member_id = ?", memberID, memberID).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(`SELECT s.id, s.member_id, s.name, s.static_qris, s.callback_url, s.invoice_lifetime_sec,
			s.fee_flat, s.fee_percent_bp, s.sandbox, s.active, s.created_at, s.updated_at, m.username
			FROM stores s JOIN members m ON m.id = s.member_id
			WHERE ? = 0 OR s.member_id = ? ORDER BY s.id LIMIT ? OFFSET ?`, memberID, memberID, limit, offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				l                         ListedStore
				lifetime, created, update int64
			)
			if err := rows.Scan(&l.ID, &l.MemberID, &l.Name, &l.StaticQRIS, &l.CallbackURL, &lifetime,
				&l.FeeFlat, &l.FeePercentBP, &l.Sandbox, &l.Active, &created, &update, &l.Owner); err != nil {
				return err
			}
			l.Lifetime = time.Duration(lifetime) * time.Second
			l.CreatedAt, l.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(update).UTC()
			out = append(out, l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// Patch changes store id in one transaction: change gets the store's
// settings and active switch as they are and edits them; the result is
// checked as Add checks it and saved, and also (when not nil) runs with
// the store before and after. fault.NotFound when there is no such store.
func (s *Stores) Patch(ctx context.Context, id int64, change func(set *Settings, active *bool),
	also func(tx *db.Tx, before, after Store) error) (Store, error) {
	now := s.clock()
	var after Store
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		before, err := scanStore(tx.QueryRow("SELECT "+storeCols+" FROM stores WHERE id = ?", id))
		if errors.Is(err, db.ErrNotFound) {
			return errNoStore
		}
		if err != nil {
			return err
		}
		set := Settings{Name: before.Name, StaticQRIS: before.StaticQRIS, CallbackURL: before.CallbackURL,
			Lifetime: before.Lifetime, FeeFlat: before.FeeFlat, FeePercentBP: before.FeePercentBP, Sandbox: before.Sandbox}
		active := before.Active
		change(&set, &active)
		if err := set.normalize(); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE stores SET name = ?, static_qris = ?, callback_url = ?, invoice_lifetime_sec = ?,
			fee_flat = ?, fee_percent_bp = ?, sandbox = ?, active = ?, updated_at = ? WHERE id = ?`,
			set.Name, set.StaticQRIS, set.CallbackURL, int64(set.Lifetime/time.Second),
			set.FeeFlat, set.FeePercentBP, set.Sandbox, active, now.UnixMicro(), id); err != nil {
			return err
		}
		if after, err = scanStore(tx.QueryRow("SELECT "+storeCols+" FROM stores WHERE id = ?", id)); err != nil {
			return err
		}
		if also == nil {
			return nil
		}
		return also(tx, before, after)
	})
	if err != nil {
		return Store{}, err
	}
	return after, nil
}
