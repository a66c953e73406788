package funding

import (
	"context"
	"time"

	"kios/internal/db"
)

// expiryBatch bounds how many deposits one write expires, so that the
// SQLite writer is never held long.
const expiryBatch = 200

// ExpireDue marks every unpaid deposit whose expired_at has passed as
// expired (its status time is its expired_at) and returns how many it
// marked. Each is one guarded update, so it is safe beside concurrent
// confirmations and beside other kios processes doing the same on one
// PostgreSQL (where rows another process holds are skipped, not waited
// for).
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := s.db.Write(ctx, func(tx *db.Tx) error {
			n = 0
			now := s.clock()
			claim := `SELECT id FROM deposits WHERE status = 'unpaid' AND expired_at <= ? ORDER BY expired_at LIMIT ?`
			if tx.Dialect() == db.Postgres {
				claim += " FOR UPDATE SKIP LOCKED"
			}
			rows, err := tx.Query(`UPDATE deposits SET status = 'expired', status_at = expired_at
				WHERE id IN (`+claim+`) AND status = 'unpaid' RETURNING reference, member_id, expired_at`,
				now.UnixMicro(), expiryBatch)
			if err != nil {
				return err
			}
			type done struct {
				ref    string
				member int64
				at     int64
			}
			var expired []done
			for rows.Next() {
				var d done
				if err := rows.Scan(&d.ref, &d.member, &d.at); err != nil {
					rows.Close()
					return err
				}
				expired = append(expired, d)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, d := range expired {
				at := time.UnixMicro(d.at).UTC()
				if err := recordStatus(tx, d.ref, Expired, at, "system", ""); err != nil {
					return err
				}
				t := Transaction{Type: TypeDeposit, Reference: d.ref, MemberID: d.member, Status: Expired, StatusAt: at}
				if err := s.notify(tx, t, now); err != nil {
					return err
				}
			}
			n = len(expired)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < expiryBatch {
			return total, nil
		}
	}
}

// RunExpiry expires due deposits now and then every interval until ctx
// ends. Errors are logged and the loop goes on.
func (s *Service) RunExpiry(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.ExpireDue(ctx); err != nil {
			if ctx.Err() == nil {
				s.opt.Logger.ErrorContext(ctx, "funding: expiring deposits", "err", err)
			}
		} else if n > 0 {
			s.opt.Logger.InfoContext(ctx, "funding: deposits expired", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
