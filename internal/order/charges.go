package order

import (
	"context"
	"errors"
	"sync"
	"time"

	"kios/internal/catalog"
	"kios/internal/ledger"
	"kios/internal/member"
)

// Batched charges (PostgreSQL). A new order, its charge, its job and its
// idempotency key (or req_id) are one statement, a transaction of its own
// (ledger.WriteCharges), where a db.Write would be five round trips; and a
// statement costs PostgreSQL about as much to plan, lock, start and commit
// as the order's rows cost to write. Orders created at the same time are
// therefore written together: a writer goroutine writes every order
// waiting in one statement, and goes on while more have arrived during
// that write; the callers wait for their answer. Each order in it stands
// alone: one refused (no funds, its idempotency key taken) writes nothing
// of its own and holds back no other; one that got no free inflight
// stripe, or whose batch failed as a whole, is tried again in a batch of
// its own. The same idea as the settlements' (settle.go), and as SQLite's
// group commit in db.Write.

// maxChargeBatch bounds the orders one statement carries.
const maxChargeBatch = 64

// chargeWriters bounds the batches written at the same time (see
// settleWriters for why so few).
const chargeWriters = 2

// charger is the queue of orders waiting to be written. The zero value is
// ready to use.
type charger struct {
	mu      sync.Mutex
	queue   []*pendingCharge
	writers int
}

// pendingCharge is one order waiting for its batch, with its gate: an
// idempotency key (prepaid, optional) or a req_id (PPOB).
type pendingCharge struct {
	m       member.Member
	o       Order
	form    string
	sku     catalog.SKU
	attempt int
	base    int64
	now     time.Time
	leased  bool

	idemKey, reqID string
	hash           string // of the request, for the key or the req_id
	ewAmount       int64  // an e-wallet top-up's amount and admin fee
	ewFee          int64

	// The answer. gated false with a nil err means that nothing was
	// written and the order is for the transaction of Create or
	// CreateTopup: its key was taken, it was refused behind a key, or no
	// stripe was free.
	id, inflight int64 // the order, and the stripe its price went to
	gated        bool
	err          error
	balance      int64 // the payer's, right after the charge
	alone        bool  // not settled by its batch: try it in a batch of its own
	done         chan struct{}
}

// insertBatched writes p's order, charge, job and key in one statement,
// together with the other orders waiting at the same time, and sets p's
// answer.
func (s *Service) insertBatched(ctx context.Context, p *pendingCharge) {
	p.done = make(chan struct{})
	q := &s.charges
	q.mu.Lock()
	q.queue = append(q.queue, p)
	if q.writers < chargeWriters {
		q.writers++
		// A goroutine of its own rather than this caller: a writer goes on
		// while orders keep arriving, and no caller's answer may wait for
		// that.
		go s.writeCharges(context.WithoutCancel(ctx))
	}
	q.mu.Unlock()
	<-p.done
	// Alone, with other stripes drawn: four tries, then the transaction,
	// which waits for its reference's stripe.
	for try := 0; p.alone && try < 4; try++ {
		s.writeChargeBatch(ctx, []*pendingCharge{p})
	}
	if p.alone {
		p.alone, p.gated, p.err = false, false, nil
	}
}

// writeCharges writes the queued orders in batches until the queue is
// empty. A batch takes at most one order of each member (whose funds the
// statement checks once); the others wait for the next.
func (s *Service) writeCharges(ctx context.Context) {
	q := &s.charges
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.writers--
			q.mu.Unlock()
			return
		}
		var batch, rest []*pendingCharge
		seen := map[int64]bool{}
		for _, p := range q.queue {
			if len(batch) < maxChargeBatch && !seen[p.m.AccountID] {
				seen[p.m.AccountID] = true
				batch = append(batch, p)
			} else {
				rest = append(rest, p)
			}
		}
		q.queue = rest
		q.mu.Unlock()
		s.writeChargeBatch(ctx, batch)
		for _, p := range batch {
			close(p.done)
		}
	}
}

// writeChargeBatch writes batch in one statement and sets every order's
// answer; an order the batch did not settle either way is marked alone.
func (s *Service) writeChargeBatch(ctx context.Context, batch []*pendingCharge) {
	for _, p := range batch {
		p.id, p.inflight, p.gated, p.err, p.alone, p.balance = 0, 0, false, nil, false, 0
	}
	n := len(batch)
	var (
		ord, payer, amount, member, cost, attempt, base, ewAmount, ewFee, created, expired, lease = make([]int64, n),
			make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n),
			make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		ref, partner, product, productName, provider, customer, form, phase, sup, sku, idemKey, reqID, hash = make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	)
	for i, p := range batch {
		o := p.o
		ord[i], payer[i], amount[i], member[i] = int64(i), p.m.AccountID, o.Price, p.m.ID
		cost[i], attempt[i], base[i], ewAmount[i], ewFee[i] = p.base+p.sku.Cost, int64(p.attempt), p.base, p.ewAmount, p.ewFee
		created[i], expired[i] = p.now.UnixMicro(), o.ExpiredAt.UnixMicro()
		ref[i], partner[i], product[i], productName[i], provider[i] = o.Reference, o.PartnerReference, o.ProductCode, o.ProductName, o.ProviderName
		customer[i], form[i], sup[i], sku[i] = o.Customer, p.form, p.sku.Supplier, p.sku.SKU
		idemKey[i], reqID[i], hash[i] = p.idemKey, p.reqID, p.hash
		phase[i] = "submit"
		if p.leased {
			phase[i], lease[i] = "poll", p.now.Add(s.cfg.Lease).UnixMicro()
		}
	}
	to, err := s.inflightCandidates(ctx, 2*n+chargeCandidates)
	if err != nil {
		for _, p := range batch {
			p.err = err
		}
		return
	}
	b := ledger.ChargeBatch{
		Rows: `SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[],
			?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[],
			?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[])
			AS r (ord, payer, amount, reference, member_id, partner_reference, product_code, product_name,
				provider_name, customer, form, created_at, expired_at, phase, supplier, sku, cost, attempt,
				lease_until, base, idem_key, req_id, request_hash, ew_amount, ew_fee)`,
		RowsArgs: []any{ord, payer, amount, ref, member, partner, product, productName, provider, customer, form, created, expired,
			phase, sup, sku, cost, attempt, lease, base, idemKey, reqID, hash, ewAmount, ewFee},
		To:   to,
		Kind: "order",
		Gate: `, keys AS (
	INSERT INTO idempotency_keys (member_id, scope, idem_key, request_hash, reference, created_at)
	SELECT member_id, 'order', idem_key, request_hash, reference, created_at FROM funded WHERE idem_key <> '' ORDER BY ord
	ON CONFLICT DO NOTHING RETURNING member_id, idem_key
), reqs AS (
	INSERT INTO ewallet_transactions (member_id, req_id, request_hash, reference, product_code, customer, amount, admin_fee, created_at)
	SELECT member_id, req_id, request_hash, reference, product_code, customer, ew_amount, ew_fee, created_at
	FROM funded WHERE req_id <> '' ORDER BY ord
	ON CONFLICT (member_id, req_id) DO NOTHING RETURNING member_id, req_id
), passed AS (
	SELECT f.ord FROM funded f
	WHERE (f.idem_key = '' OR EXISTS (SELECT 1 FROM keys k WHERE k.member_id = f.member_id AND k.idem_key = f.idem_key))
		AND (f.req_id = '' OR EXISTS (SELECT 1 FROM reqs e WHERE e.member_id = f.member_id AND e.req_id = f.req_id))
)`,
		Then: `, placed AS (
	INSERT INTO orders (reference, member_id, partner_reference, product_code, product_name,
		provider_name, customer, form, price, status, created_at, status_at, expired_at, inflight)
	SELECT reference, member_id, partner_reference, product_code, product_name, provider_name, customer, form, amount,
		'processing', created_at, created_at, expired_at, stripe
	FROM written ORDER BY ord RETURNING id, reference
), job AS (
	INSERT INTO fulfilment_jobs (order_id, phase, supplier, sku, cost, attempt, due_at, lease_until, base)
	SELECT o.id, w.phase, w.supplier, w.sku, w.cost, w.attempt, w.created_at, w.lease_until, w.base
	FROM placed o JOIN written w ON w.reference = o.reference
)`,
		Result: "COALESCE((SELECT o.id FROM placed o WHERE o.reference = rk.reference), 0)",
	}
	var id int64
	err = ledger.WriteCharges(ctx, s.db, b, batch[0].now, []any{&id}, func(o ledger.ChargeOutcome) error {
		p := batch[o.Ord]
		p.id, p.inflight, p.gated, p.err, p.alone, p.balance = 0, 0, false, nil, false, 0 // a retried statement calls again
		switch {
		case o.Written:
			p.id, p.inflight, p.gated, p.balance = id, o.Credited, true, o.Balance
		case errors.Is(o.Err, ledger.ErrBusy):
			p.alone = true
		case o.Err != nil && (p.idemKey != "" || p.reqID != ""):
			// Refused before its gate: whether the key names an earlier
			// order (a replay answers even when the balance is spent) is
			// for the transaction to find out.
		case o.Err != nil:
			p.err = o.Err
		}
		return nil
	})
	switch {
	case err != nil && n == 1:
		batch[0].err = err // a reference drawn twice is db.ErrConflict: Create draws again
	case err != nil:
		// The statement failed as a whole (a reference drawn twice, say):
		// nothing of it was written, and each order is tried alone.
		s.logger.Debug("orders: a batch of charges failed; writing each alone", "orders", n, "err", err)
		for _, p := range batch {
			p.alone = true
		}
	}
}
