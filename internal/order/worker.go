package order

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/ledger"
	"kios/internal/supplier"
	"kios/internal/webhook"
)

// job is a claimed fulfilment job with what the worker needs of its order.
type job struct {
	orderID   int64
	phase     string // as it was before the claim
	supplier  string
	sku       string
	cost      int64
	attempt   int
	polls     int
	reference string
	product   string
	customer  string
	form      map[string]string
	price     int64
	member    int64
	partner   string
	account   int64 // the member's ledger account, for a refund
	inflight  int64 // the inflight stripe holding the price (orders.inflight; 0: derived from the reference)
	base      int64 // cost that does not depend on the SKU (an e-wallet amount)
}

// Run claims due fulfilment jobs and works them until ctx ends, then (the
// last Run of the service to stop) waits for the supplier calls in flight
// to finish and record their outcome.
// Several Run loops, in one process or in several processes sharing a
// PostgreSQL database, never work one job at the same time.
//
// While Run runs, Create and CreateTopup hand a new order straight to a
// free worker slot of this process (see reserve) instead of queueing it
// for a claim; the slots are shared with the claims.
func (s *Service) Run(ctx context.Context) {
	s.mu.Lock()
	s.running++
	s.mu.Unlock()
	defer func() {
		// The last loop to stop waits for every call in flight, its own
		// and the dispatched ones; no slot is reserved after that.
		s.mu.Lock()
		s.running--
		last := s.running == 0
		s.mu.Unlock()
		if last {
			s.inflight.Wait()
		}
	}()
	idle := time.NewTimer(0)
	defer idle.Stop()
	soon := time.NewTimer(time.Hour)
	soon.Stop()
	defer soon.Stop()
	// A claim is a transaction of its own: claim in batches of at least a
	// quarter of the slots unless nothing is in flight, rather than one job
	// each time one slot frees; and only when this process queued a job
	// since the queue was last seen empty, or once a second (jobs due
	// after a backoff, or queued by another process). A job this process
	// queued waits at most smallClaimAfter for a smaller claim: dispatched
	// orders keep most slots busy, and a quarter may not come free for long.
	batch := max(1, s.cfg.Workers/4)
	look := true
	var lastClaim time.Time
	for {
		free := s.cfg.Workers - len(s.slots)
		queued := s.queued.Load() > 0
		small := queued && free > 0 && time.Since(lastClaim) >= smallClaimAfter
		var jobs []job
		if (look || queued) && (free >= batch || free == s.cfg.Workers || small) {
			lastClaim = time.Now()
			seen := s.queued.Load()
			var err error
			jobs, err = s.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				s.logger.Error("fulfilment: claim failed", "err", err)
			}
			if err == nil && len(jobs) < free {
				// Every job due when the claim looked was taken; jobs queued
				// since then have counted up again.
				s.queued.CompareAndSwap(seen, 0)
			}
			look = false
			idle.Reset(time.Second) // a second after the last look, however often the loop wakes
		}
		for _, j := range jobs {
			s.slots <- struct{}{}
			s.inflight.Add(1)
			s.dispatch(j)
		}
		if len(jobs) > 0 && len(jobs) == free {
			look = true
			continue // there may be more due right now
		}
		if s.queued.Load() > 0 && free > 0 && free < batch {
			soon.Reset(max(0, smallClaimAfter-time.Since(lastClaim)))
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-soon.C:
		case <-idle.C:
			look = true
		}
	}
}

// smallClaimAfter bounds how long a job queued by this process waits for a
// claim while fewer than a quarter of the slots are free.
const smallClaimAfter = 5 * time.Millisecond

// reserve takes a free worker slot for an order about to be created, so
// that the order can be worked as soon as it commits (dispatch), without a
// claim. It succeeds only while a Run loop of this process runs, and the
// slot must be given back (release) if the order is not created.
func (s *Service) reserve() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == 0 {
		return false
	}
	select {
	case s.slots <- struct{}{}:
		s.inflight.Add(1)
		return true
	default:
		return false
	}
}

// release gives back a slot that reserve or Run took.
func (s *Service) release() {
	<-s.slots
	s.inflight.Done()
}

// dispatch works j in a slot already taken, and gives the slot back.
func (s *Service) dispatch(j job) {
	go func() {
		defer func() { s.release(); s.poke() }()
		s.work(j)
	}()
}

// queue tells the worker loop that a job waits in the table for a claim.
func (s *Service) queue() {
	s.queued.Add(1)
	s.poke()
}

// claim takes up to limit due jobs: it leases them and turns their phase
// to 'poll' in the same transaction, so that after a crash the order is
// only ever asked about, never submitted blindly again.
func (s *Service) claim(ctx context.Context, limit int) ([]job, error) {
	var jobs []job
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		jobs = jobs[:0]
		now := s.now()
		q := `SELECT j.order_id, j.phase, j.supplier, j.sku, j.cost, j.attempt, j.polls,
			o.reference, o.product_code, o.customer, o.form, o.price, o.member_id, o.partner_reference, m.account_id, j.base, o.inflight
			FROM fulfilment_jobs j JOIN orders o ON o.id = j.order_id JOIN members m ON m.id = o.member_id
			WHERE j.due_at <= ? AND j.lease_until <= ? ORDER BY j.due_at LIMIT ?`
		if tx.Dialect() == db.Postgres {
			q += " FOR UPDATE OF j SKIP LOCKED"
		}
		rows, err := tx.Query(q, now.UnixMicro(), now.UnixMicro(), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var j job
			var form string
			if err := rows.Scan(&j.orderID, &j.phase, &j.supplier, &j.sku, &j.cost, &j.attempt, &j.polls,
				&j.reference, &j.product, &j.customer, &form, &j.price, &j.member, &j.partner, &j.account, &j.base, &j.inflight); err != nil {
				rows.Close()
				return err
			}
			json.Unmarshal([]byte(form), &j.form)
			jobs = append(jobs, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(jobs) == 0 {
			return nil
		}
		// One statement for the whole claim.
		args := []any{now.Add(s.cfg.Lease).UnixMicro()}
		lease := "UPDATE fulfilment_jobs SET phase = 'poll', lease_until = ? WHERE order_id IN (?" + strings.Repeat(", ?", len(jobs)-1) + ")"
		for _, j := range jobs {
			args = append(args, j.orderID)
		}
		_, err = tx.Exec(lease, args...)
		return err
	})
	return jobs, err
}

// work asks the job's supplier, outside any transaction, and records the
// answer. A job in phase 'poll' may already be at the supplier: it is asked
// for the status, and submitted only when the supplier has never heard of
// it (the submission is idempotent by reference in any case).
func (s *Service) work(j job) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CallTimeout)
	defer cancel()
	sup, ok := s.suppliers[j.supplier]
	if !ok {
		// Never submitted anywhere: failing over is safe.
		s.record(j, supplier.Result{Outcome: supplier.Failed, Message: "supplier " + j.supplier + " is not configured"}, nil)
		return
	}
	o := supplier.Order{Reference: j.reference, SKU: j.sku, Customer: j.customer, Form: j.form}
	var res supplier.Result
	var err error
	if j.phase == "poll" {
		res, err = sup.Status(ctx, j.reference)
		if err == nil && res.Outcome == supplier.NotFound {
			res, err = sup.Submit(ctx, o)
		}
	} else {
		res, err = sup.Submit(ctx, o)
	}
	s.record(j, res, err)
}

// record writes the supplier's answer: success settles the order, a
// definite failure fails over or refunds, anything else (pending, unknown)
// schedules another status poll.
func (s *Service) record(j job, res supplier.Result, callErr error) {
	ctx := context.Background()
	var err error
	switch {
	case callErr == nil && res.Outcome == supplier.Success:
		err = s.settleBatched(ctx, j, res)
	case callErr == nil && res.Outcome == supplier.Failed:
		err = s.failOver(ctx, j, res)
	default:
		detail := res.Message
		if callErr != nil {
			detail = "unknown outcome: " + callErr.Error()
		}
		err = s.reschedule(ctx, j, detail)
	}
	if err != nil {
		// The lease runs out and another claim retries; nothing is lost.
		s.logger.Error("fulfilment: recording the outcome failed", "reference", j.reference, "err", err)
	}
}

// settleSuccess settles j's order as delivered with res's serial number,
// in a transaction of its own.
func (s *Service) settleSuccess(ctx context.Context, j job, res supplier.Result) error {
	return s.db.Write(ctx, func(tx *db.Tx) error { return s.success(tx, j, res) })
}

// success settles j's order as delivered inside tx: the job leaves the
// queue, the order records its serial number, the webhook goes to the
// outbox and the price moves out of inflight. The success needs no row in
// order_events: the order's status, supplier, sn and status_at are that
// event, and Events reads it from there.
func (s *Service) success(tx *db.Tx, j job, res supplier.Result) error {
	now := s.now()
	if _, err := tx.Exec("DELETE FROM fulfilment_jobs WHERE order_id = ?", j.orderID); err != nil {
		return err
	}
	n, err := tx.ExecAffected(`UPDATE orders SET status = ?, sn = ?, note = ?, supplier = ?, cost = ?, status_at = ?
		WHERE id = ? AND status = ?`, Success, res.SN, note(Success, now), j.supplier, j.cost, now.UnixMicro(), j.orderID, Processing)
	if err != nil || n == 0 {
		return err // n == 0: settled already (by an operator): nothing to book
	}
	if err := s.notify(tx, j, Success, res.SN, note(Success, now), now); err != nil {
		return err
	}
	return s.postSuccess(tx, j, now) // last: see insert
}

// postSuccess moves the price out of inflight: the cost to the supplier,
// the margin to revenue, each in the stripe of the order's reference.
func (s *Service) postSuccess(tx *db.Tx, j job, now time.Time) error {
	e, err := s.successEntry(tx, j, func(code string) string { return ledger.Stripe(code, j.reference) })
	if err != nil {
		return err
	}
	_, err = ledger.Post(tx, e, now)
	return err
}

// successEntry is the entry postSuccess posts, with the cost and the
// margin credited to the stripes of the supplier's account and revenue
// that stripe names.
func (s *Service) successEntry(tx *db.Tx, j job, stripe func(code string) string) (ledger.Entry, error) {
	inflight, err := s.inflightOf(tx, j)
	if err != nil {
		return ledger.Entry{}, err
	}
	sup, err := s.account(tx, stripe(ledger.SupplierCode(j.supplier)), ledger.KindSupplier, true)
	if err != nil {
		return ledger.Entry{}, err
	}
	ps := []ledger.Posting{{Account: inflight, Amount: -j.price}, {Account: sup, Amount: j.cost}}
	if margin := j.price - j.cost; margin > 0 {
		rev, err := s.account(tx, stripe(ledger.Revenue), ledger.KindSystem, false)
		if err != nil {
			return ledger.Entry{}, err
		}
		ps = append(ps, ledger.Posting{Account: rev, Amount: margin})
	}
	return ledger.Entry{Kind: "order_success", Reference: j.reference, Postings: ps}, nil
}

// failOver moves the job to the next supplier SKU in priority order that
// costs no more than the member paid, or fails the order and returns the
// charge when there is none.
func (s *Service) failOver(ctx context.Context, j job, res supplier.Result) error {
	var next catalog.SKU
	var pos int
	found := false
	if skus, err := s.jobSKUs(ctx, j); err == nil {
		next, pos, found = nextSKU(skus, j.attempt, j.price-j.base)
	}
	return s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.now()
		detail := strings.TrimSpace(j.supplier + ": " + res.Message)
		if found {
			if _, err := tx.Exec(`UPDATE fulfilment_jobs SET phase = 'submit', supplier = ?, sku = ?, cost = ?, attempt = ?,
				polls = 0, due_at = ?, lease_until = 0 WHERE order_id = ?`, next.Supplier, next.SKU, j.base+next.Cost, pos, now.UnixMicro(), j.orderID); err != nil {
				return err
			}
			_, err := tx.Exec("INSERT INTO order_events (order_id, status, supplier, detail, at) VALUES (?, 'failover', ?, ?, ?)",
				j.orderID, next.Supplier, detail, now.UnixMicro())
			tx.AfterCommit(s.queue)
			return err
		}
		if _, err := tx.Exec("DELETE FROM fulfilment_jobs WHERE order_id = ?", j.orderID); err != nil {
			return err
		}
		n, err := tx.ExecAffected(`UPDATE orders SET status = ?, note = ?, supplier = ?, status_at = ? WHERE id = ? AND status = ?`,
			Failed, note(Failed, now), j.supplier, now.UnixMicro(), j.orderID, Processing)
		if err != nil || n == 0 {
			return err
		}
		if _, err := tx.Exec("INSERT INTO order_events (order_id, status, supplier, detail, at) VALUES (?, ?, ?, ?, ?)",
			j.orderID, Failed, j.supplier, detail, now.UnixMicro()); err != nil {
			return err
		}
		if err := s.notify(tx, j, Failed, "", note(Failed, now), now); err != nil {
			return err
		}
		inflight, err := s.inflightOf(tx, j)
		if err != nil {
			return err
		}
		_, err = ledger.Transfer(tx, "order_refund", j.reference, inflight, j.account, j.price, now) // last: see insert
		return err
	})
}

// notify writes the order's transaction_status webhook to the outbox, in
// the transaction that changes the status. sent_at is the time the message
// was written: the body is signed once and never changes on retries.
func (s *Service) notify(tx *db.Tx, j job, status, sn, note string, now time.Time) error {
	body, err := s.statusMessage(tx, j, status, sn, note, now)
	if err != nil {
		return err
	}
	return webhook.Enqueue(tx, j.member, webhook.KindTransactionStatus, j.reference, body, now)
}

// statusMessage returns the body of j's transaction_status webhook, for
// the outbox, and has the callers waiting for the order (AwaitTopup) and
// the webhook workers told once tx commits.
func (s *Service) statusMessage(tx *db.Tx, j job, status, sn, note string, now time.Time) ([]byte, error) {
	// What the order row says once this commits, for the callers waiting
	// for it (AwaitTopup).
	final := Order{Status: status, SN: sn, Note: note, Supplier: j.supplier, Cost: j.cost, StatusAt: time.UnixMicro(now.UnixMicro()).UTC()}
	body, err := webhook.StatusBody(j.reference, j.partner, status, sn, note, now)
	if err != nil {
		return nil, err
	}
	if s.cfg.Notify != nil {
		tx.AfterCommit(s.cfg.Notify)
	}
	tx.AfterCommit(func() { s.waits.done(j.reference, final) })
	return body, nil
}

// MarkWebhookSent records that an order's status reached its member; the
// webhook worker calls it in the transaction that records the delivery.
func MarkWebhookSent(tx *db.Tx, reference string) error {
	_, err := tx.Exec("UPDATE orders SET webhook_sent = TRUE WHERE reference = ? AND NOT webhook_sent", reference)
	return err
}

// reschedule asks again later, with a growing pause.
func (s *Service) reschedule(ctx context.Context, j job, detail string) error {
	wait := s.cfg.PollBackoff[min(j.polls, len(s.cfg.PollBackoff)-1)]
	return s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.now()
		if _, err := tx.Exec("UPDATE fulfilment_jobs SET polls = polls + 1, due_at = ?, lease_until = 0 WHERE order_id = ?",
			now.Add(wait).UnixMicro(), j.orderID); err != nil {
			return err
		}
		if j.polls > 0 {
			return nil // the first pending answer is recorded; repeats are not
		}
		_, err := tx.Exec("INSERT INTO order_events (order_id, status, supplier, detail, at) VALUES (?, 'pending', ?, ?, ?)",
			j.orderID, j.supplier, truncate(detail, 500), now.UnixMicro())
		return err
	})
}

// poke wakes the worker loop without blocking.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// QueueDepth returns how many orders wait for fulfilment.
func (s *Service) QueueDepth(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, "SELECT COUNT(*) FROM fulfilment_jobs").Scan(&n)
	return n, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// inflightOf returns the inflight stripe that holds j's price: the one its
// order recorded, or for an order written before orders recorded it, the
// stripe of its reference.
func (s *Service) inflightOf(tx *db.Tx, j job) (int64, error) {
	if j.inflight != 0 {
		return j.inflight, nil
	}
	return s.account(tx, ledger.Stripe(ledger.Inflight, j.reference), ledger.KindSystem, false)
}
