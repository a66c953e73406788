package funding

import (
	"context"
	"errors"
	"time"

	"kios/internal/db"
)

// OpenDepositTx returns, inside tx, the reference of the unpaid deposit on
// channel (a bank code or "qris") whose price is price and that could be
// paid at at: created by then and not yet expired. "" when there is none.
// No two unpaid deposits on a channel share a price, so there is at most
// one. The incoming-funds matcher asks it before it calls Confirm.
func OpenDepositTx(tx *db.Tx, channel string, price int64, at time.Time) (string, error) {
	var ref string
	err := tx.QueryRow(`SELECT reference FROM deposits WHERE channel = ? AND price = ? AND status = 'unpaid'
		AND created_at <= ? AND expired_at > ?`, channel, price, at.UnixMicro(), at.UnixMicro()).Scan(&ref)
	if errors.Is(err, db.ErrNotFound) {
		return "", nil
	}
	return ref, err
}

// LastDecision returns the newest recorded status of deposit or withdrawal
// ref and who decided it; db.ErrNotFound when it has none. The matcher
// uses it to learn whether a Confirm that answered Conflict was its own,
// made before a crash.
func (s *Service) LastDecision(ctx context.Context, ref string) (status, actor string, err error) {
	err = s.db.QueryRow(ctx, `SELECT status, actor FROM funding_status WHERE reference = ? ORDER BY id DESC LIMIT 1`, ref).
		Scan(&status, &actor)
	return status, actor, err
}
