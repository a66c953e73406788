package order

import (
	"context"
	"slices"
	"strings"
	"sync"

	"kios/internal/db"
	"kios/internal/ledger"
	"kios/internal/supplier"
)

// Batched settlements. Every order that succeeds at its supplier ends in a
// small write (the job's delete, the order's update, the webhook, a
// three-legged ledger entry). Written one transaction each, on PostgreSQL
// the BEGIN, the COMMIT and its WAL flush cost as much as the writes. The
// workers therefore hand their successes to a settler: the first worker to
// arrive writes every success waiting, in one db.Write, and goes on while
// more have arrived during that write; the others wait for their answer. A
// batch that fails is written again one success per transaction, so one
// order's failure never holds back another's.
//
// SQLite needs none of this: its db.Write already commits concurrent
// callers together, and a batch there only made the successes wait for
// each other (docs/performance.md).

// maxSettleBatch bounds the successes one transaction carries.
const maxSettleBatch = 128

// settleWriters bounds the batches written at the same time: while some are
// committing, the next batch fills.
const settleWriters = 2

// settler is the queue of successes waiting to be written. The zero value
// is ready to use.
type settler struct {
	mu      sync.Mutex
	queue   []*settlement
	writers int
}

type settlement struct {
	j    job
	res  supplier.Result
	err  error
	done chan struct{}
}

// settleBatched settles j's order as delivered, on PostgreSQL in a
// transaction shared with other workers' successes, and returns once it is
// durable.
func (s *Service) settleBatched(ctx context.Context, j job, res supplier.Result) error {
	if s.db.Dialect() != db.Postgres {
		return s.settleSuccess(ctx, j, res)
	}
	st := &settlement{j: j, res: res, done: make(chan struct{})}
	q := &s.settles
	q.mu.Lock()
	q.queue = append(q.queue, st)
	write := q.writers < settleWriters
	if write {
		q.writers++
	}
	q.mu.Unlock()
	if write {
		s.writeSettlements(ctx)
	}
	<-st.done
	return st.err
}

// writeSettlements writes the queued successes in batches until the queue
// is empty.
func (s *Service) writeSettlements(ctx context.Context) {
	q := &s.settles
	for {
		q.mu.Lock()
		n := min(len(q.queue), maxSettleBatch)
		if n == 0 {
			q.writers--
			q.mu.Unlock()
			return
		}
		batch := slices.Clone(q.queue[:n])
		q.queue = slices.Delete(q.queue, 0, n)
		q.mu.Unlock()
		s.writeBatch(ctx, batch)
	}
}

// writeBatch writes batch in one transaction, or, when that fails, each
// success in a transaction of its own; then it answers every waiter.
func (s *Service) writeBatch(ctx context.Context, batch []*settlement) {
	// In stripe order, so that concurrent batches (of several processes on
	// PostgreSQL) take the system accounts' row locks in the same order.
	slices.SortFunc(batch, func(a, b *settlement) int {
		return strings.Compare(ledger.Stripe("", a.j.reference), ledger.Stripe("", b.j.reference))
	})
	err := s.db.Write(ctx, func(tx *db.Tx) error { return s.successes(tx, batch) })
	for _, st := range batch {
		st.err = err
		if err != nil && len(batch) > 1 {
			st.err = s.settleSuccess(ctx, st.j, st.res)
		}
		close(st.done)
	}
}

// successes settles the orders of batch inside tx as success does, but
// with one statement for every job's delete and order's update (PostgreSQL:
// a data-modifying CTE), rather than two round trips per order; the
// webhook and the ledger entry follow for each order the statement
// settled.
func (s *Service) successes(tx *db.Tx, batch []*settlement) error {
	now := s.now()
	var q strings.Builder
	q.WriteString("WITH v (id, sn, note, supplier, cost) AS (VALUES ")
	args := make([]any, 0, 5*len(batch)+1)
	for i, st := range batch {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?::bigint, ?::text, ?::text, ?::text, ?::bigint)")
		args = append(args, st.j.orderID, st.res.SN, note(Success, now), st.j.supplier, st.j.cost)
	}
	q.WriteString(`), gone AS (DELETE FROM fulfilment_jobs j USING v WHERE j.order_id = v.id)
		UPDATE orders o SET status = 'success', sn = v.sn, note = v.note, supplier = v.supplier, cost = v.cost, status_at = ?
		FROM v WHERE o.id = v.id AND o.status = 'processing' RETURNING o.id`)
	args = append(args, now.UnixMicro())
	rows, err := tx.Query(q.String(), args...)
	if err != nil {
		return err
	}
	settled := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		settled[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, st := range batch {
		if !settled[st.j.orderID] {
			continue // settled already (by an operator, or earlier in the batch): nothing to book
		}
		delete(settled, st.j.orderID)
		if err := s.notify(tx, st.j, Success, st.res.SN, note(Success, now), now); err != nil {
			return err
		}
		if err := s.postSuccess(tx, st.j, now); err != nil {
			return err
		}
	}
	return nil
}
