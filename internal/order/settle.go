package order

import (
	"context"
	"slices"
	"sync"

	"kios/internal/db"
	"kios/internal/ledger"
	"kios/internal/supplier"
	"kios/internal/webhook"
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

// settleWriters bounds the batches written at the same time: while one is
// committing, the next fills. One writer makes the largest batches, and a
// batch's cost is mostly its statements, not its rows: on two cores, one
// writer against two (and two charge writers against four) took the PPOB
// bench on PostgreSQL from ~2,700 to ~3,200 transactions/s and its p99
// from ~47 to ~35 ms (docs/performance.md).
const settleWriters = 1

// settler is the queue of successes waiting to be written. The zero value
// is ready to use.
type settler struct {
	mu      sync.Mutex
	queue   []*settlement
	writing [settleWriters]bool // which writers are writing
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
	w := slices.Index(q.writing[:], false)
	if w >= 0 {
		q.writing[w] = true
	}
	q.mu.Unlock()
	if w >= 0 {
		s.writeSettlements(ctx, w)
	}
	<-st.done
	return st.err
}

// writeSettlements writes the queued successes in batches until the queue
// is empty, as writer w.
func (s *Service) writeSettlements(ctx context.Context, w int) {
	q := &s.settles
	for {
		q.mu.Lock()
		n := min(len(q.queue), maxSettleBatch)
		if n == 0 {
			q.writing[w] = false
			q.mu.Unlock()
			return
		}
		batch := slices.Clone(q.queue[:n])
		q.queue = slices.Delete(q.queue, 0, n)
		q.mu.Unlock()
		s.writeBatch(ctx, w, batch)
	}
}

// writeBatch writes batch in one transaction, or, when that fails, each
// success in a transaction of its own; then it answers every waiter.
// Writer w credits the costs and margins of its batches to stripe w of the
// suppliers' accounts and of revenue: concurrent writers then never wait
// for each other's locks there, and each batch moves one row of each.
func (s *Service) writeBatch(ctx context.Context, w int, batch []*settlement) {
	stripe := func(code string) string { return ledger.StripeCode(code, w) }
	err := s.db.Write(ctx, func(tx *db.Tx) error { return s.successes(tx, batch, stripe) })
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
// a data-modifying CTE), one for the webhooks and one for the ledger
// entries of the orders the first settled, rather than four round trips
// per order.
func (s *Service) successes(tx *db.Tx, batch []*settlement, stripe func(code string) string) error {
	now := s.now()
	ids, sns, suppliers, costs := make([]int64, len(batch)), make([]string, len(batch)), make([]string, len(batch)), make([]int64, len(batch))
	for i, st := range batch {
		ids[i], sns[i], suppliers[i], costs[i] = st.j.orderID, st.res.SN, st.j.supplier, st.j.cost
	}
	// Arrays rather than a VALUES list: one statement text, prepared once
	// per connection, whatever the batch's size.
	rows, err := tx.Query(`WITH v (id, sn, supplier, cost) AS (
			SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[], ?::bigint[])
		), gone AS (DELETE FROM fulfilment_jobs j USING v WHERE j.order_id = v.id)
		UPDATE orders o SET status = 'success', sn = v.sn, note = ?, supplier = v.supplier, cost = v.cost, status_at = ?
		FROM v WHERE o.id = v.id AND o.status = 'processing' RETURNING o.id`,
		ids, sns, suppliers, costs, note(Success, now), now.UnixMicro())
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
	msgs := make([]webhook.Outgoing, 0, len(settled))
	entries := make([]ledger.Entry, 0, len(settled))
	for _, st := range batch {
		if !settled[st.j.orderID] {
			continue // settled already (by an operator, or earlier in the batch): nothing to book
		}
		delete(settled, st.j.orderID)
		body, err := s.statusMessage(tx, st.j, Success, st.res.SN, note(Success, now), now)
		if err != nil {
			return err
		}
		msgs = append(msgs, webhook.Outgoing{Member: st.j.member, Reference: st.j.reference, Payload: body})
		e, err := s.successEntry(tx, st.j, stripe)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	if err := webhook.EnqueueMany(tx, webhook.KindTransactionStatus, msgs, now); err != nil {
		return err
	}
	// Last, in one statement: the system accounts' row locks are then held
	// only while committing (see insert).
	return ledger.PostMany(tx, entries, now)
}
