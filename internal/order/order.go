// Package order is the life of a prepaid order: creation (validate the form,
// price it for the member's level, charge through the ledger, queue it),
// fulfilment through suppliers (worker.go) and the lookups the faces need.
package order

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/reference"
	"kios/internal/supplier"
)

// Statuses of an order.
const (
	Processing = "processing"
	Success    = "success"
	Failed     = "failed"
	Refund     = "refund"
)

// Order is one prepaid order.
type Order struct {
	ID               int64
	Reference        string
	PartnerReference string
	MemberID         int64
	ProductCode      string
	ProductName      string
	ProviderName     string
	Customer         string
	Price            int64
	Status           string
	SN               string
	Note             string
	Supplier         string
	Cost             int64
	WebhookSent      bool
	CreatedAt        time.Time
	StatusAt         time.Time
	ExpiredAt        time.Time
}

// Request is an order as a member asks for it.
type Request struct {
	ProductCode      string
	PartnerReference string
	// Form holds the order-form values by key, as decoded from JSON.
	Form map[string]any
	// Body is the whole request, decoded; two requests with the same
	// partner_reference are "the same" when their bodies are equal.
	Body map[string]any
}

// Config tunes the service. The zero value gets the defaults.
type Config struct {
	Prefix      string        // reference prefix (default "TRX")
	Lifetime    time.Duration // expired_at = created + Lifetime (default 24h)
	IdemWindow  time.Duration // partner_reference uniqueness window (default 24h)
	CallTimeout time.Duration // deadline of one supplier call (default 30s)
	Lease       time.Duration // how long a claimed job is a worker's (default 2m)
	Workers     int           // concurrent supplier calls (default 64)
	PollBackoff []time.Duration
	StuckAfter  time.Duration // default 6h
	// Notify, when set, is called after a commit that wrote a webhook to
	// the outbox, so that delivery starts at once.
	Notify func()
}

func (c *Config) defaults() {
	if c.Prefix == "" {
		c.Prefix = "TRX"
	}
	if c.Lifetime <= 0 {
		c.Lifetime = 24 * time.Hour
	}
	if c.IdemWindow <= 0 {
		c.IdemWindow = 24 * time.Hour
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.Workers <= 0 {
		c.Workers = 256
	}
	if len(c.PollBackoff) == 0 {
		c.PollBackoff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
			30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute}
	}
	if c.StuckAfter <= 0 {
		c.StuckAfter = 6 * time.Hour
	}
}

// Service creates and fulfils orders.
type Service struct {
	db        *db.DB
	catalog   *catalog.Store
	suppliers supplier.Set
	now       func() time.Time
	logger    *slog.Logger
	cfg       Config

	wake     chan struct{}
	accounts sync.Map                           // account code → id
	stripes  [ledger.ChargeStripes]atomic.Int64 // inflight stripe → account id, once known

	// slots holds one token per supplier call in flight in this process,
	// taken by claims (Run) and by orders dispatched as they are created
	// (reserve); inflight counts them for Run's return.
	slots    chan struct{}
	inflight sync.WaitGroup
	mu       sync.Mutex
	running  int // Run loops running, under mu
	// queued counts jobs this process wrote to the table for a claim
	// (no slot was free, or a failover) since the loop last found the
	// queue empty.
	queued  atomic.Int64
	settles settler // successes waiting to be written together (settle.go)
	charges charger // new orders waiting to be written together (charges.go)
	waits   waiters // callers waiting for an order to settle (topup.go)
}

// NewService returns the order service.
func NewService(d *db.DB, cat *catalog.Store, sups supplier.Set, now func() time.Time, logger *slog.Logger, cfg Config) *Service {
	cfg.defaults()
	return &Service{db: d, catalog: cat, suppliers: sups, now: now, logger: logger, cfg: cfg, wake: make(chan struct{}, 1),
		slots: make(chan struct{}, cfg.Workers)}
}

// account returns the id of a system or supplier account, creating it once.
func (s *Service) account(tx *db.Tx, code, kind string, allowNegative bool) (int64, error) {
	if id, ok := s.accounts.Load(code); ok {
		return id.(int64), nil
	}
	id, err := ledger.EnsureAccount(tx, code, kind, allowNegative, s.now())
	if err != nil {
		return 0, err
	}
	// Only remember it once committed: a rolled-back creation must not be
	// cached (the id would not exist).
	tx.AfterCommit(func() { s.accounts.Store(code, id) })
	return id, nil
}

// Create validates and prices req for member m, charges the member and
// queues the order, all in one durable transaction. replayed is true when
// req repeats an earlier request with the same partner_reference and body:
// the earlier order is returned and nothing is charged again.
func (s *Service) Create(ctx context.Context, m member.Member, req Request) (o Order, replayed bool, err error) {
	if req.ProductCode == "" {
		return Order{}, false, fault.Field(fault.Missing, "target_product_code", "target_product_code is required")
	}
	if len(req.PartnerReference) > 64 {
		return Order{}, false, fault.Field(fault.Invalid, "partner_reference", "partner_reference is longer than 64 characters")
	}
	p, err := s.catalog.Product(ctx, req.ProductCode, m.Level)
	if err != nil {
		return Order{}, false, err
	}
	if p.Ewallet {
		// Sold by amount through the PPOB face (CreateTopup), not here.
		return Order{}, false, fault.Field(fault.NotFound, "product", "no prepaid product %s", p.Code)
	}
	if err := p.Orderable(); err != nil {
		return Order{}, false, err
	}
	form, err := p.Provider.ValidateForm(req.Form)
	if err != nil {
		return Order{}, false, err
	}
	sku, attempt, ok := nextSKU(p.SKUs, 0, p.Price)
	if !ok || p.Price <= 0 {
		return Order{}, false, fault.Field(fault.Inactive, "target_product_code", "product %s has no supplier that can deliver it at its price", p.Code)
	}
	formJSON, _ := json.Marshal(form)
	customer := ""
	if len(p.Provider.Forms) > 0 {
		customer = form[p.Provider.Forms[0].Key]
	}
	hash := requestHash(req.Body)

	var prior string
	var inflight int64
	leased := s.reserve()
	for try := 0; ; try++ {
		now := s.now()
		o = Order{
			Reference: reference.New(s.cfg.Prefix, now), PartnerReference: req.PartnerReference, MemberID: m.ID,
			ProductCode: p.Code, ProductName: p.Name, ProviderName: p.Provider.Name, Customer: customer,
			Price: p.Price, Status: Processing, CreatedAt: micro(now), StatusAt: micro(now), ExpiredAt: micro(now.Add(s.cfg.Lifetime)),
		}
		var gated bool
		if s.db.Dialect() == db.Postgres {
			c := &pendingCharge{m: m, o: o, form: string(formJSON), sku: sku, attempt: attempt, now: now, leased: leased,
				idemKey: req.PartnerReference, hash: hash}
			s.insertBatched(ctx, c)
			o.ID, inflight, gated, err = c.id, c.inflight, c.gated, c.err
			if errors.Is(err, db.ErrConflict) && try < 3 {
				continue
			}
			if err != nil || gated {
				prior = ""
				break
			}
			// Not written (see pendingCharge): the transaction below
			// finds out whose the key is, or waits for a stripe.
		}
		err = s.db.Write(ctx, func(tx *db.Tx) error {
			prior = ""
			if req.PartnerReference != "" {
				var err error
				if prior, err = s.claimKey(tx, m.ID, "order", req.PartnerReference, hash, o.Reference, now); err != nil || prior != "" {
					return err
				}
			}
			var err error
			o.ID, inflight, err = s.insert(tx, m, o, string(formJSON), sku, attempt, 0, now, leased)
			return err
		})
		if errors.Is(err, db.ErrConflict) && try < 3 {
			continue // a reference drawn twice: draw again
		}
		break
	}
	if leased && (err != nil || prior != "") {
		s.release()
	}
	switch {
	case errors.Is(err, ledger.ErrInsufficientFunds):
		return Order{}, false, fault.New(fault.Insufficient, "balance is below the price %d", p.Price)
	case err != nil:
		return Order{}, false, err
	}
	if prior != "" {
		o, err = s.Get(ctx, m.ID, prior)
		return o, true, err
	}
	s.started(o, inflight, m, form, sku, attempt, 0, leased)
	return o, false, nil
}

// started sets a new order on its way: with a slot reserved (its job row
// is leased, in phase 'poll') it is worked at once in this process;
// without, the worker loop is told that a job is queued.
func (s *Service) started(o Order, inflight int64, m member.Member, form map[string]string, sku catalog.SKU, attempt int, base int64, leased bool) {
	if !leased {
		s.queue()
		return
	}
	s.dispatch(job{orderID: o.ID, phase: "submit", supplier: sku.Supplier, sku: sku.SKU, cost: base + sku.Cost, attempt: attempt,
		reference: o.Reference, product: o.ProductCode, customer: o.Customer, form: form, price: o.Price, member: m.ID,
		partner: o.PartnerReference, account: m.AccountID, base: base, inflight: inflight})
}

// claimKey records the idempotency key for a new order. When the key is
// already taken within the window it returns the earlier order's reference
// if the request is the same, and a Conflict if it is not.
func (s *Service) claimKey(tx *db.Tx, memberID int64, scope, key, hash, ref string, now time.Time) (string, error) {
	n, err := tx.ExecAffected(`INSERT INTO idempotency_keys (member_id, scope, idem_key, request_hash, reference, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, memberID, scope, key, hash, ref, now.UnixMicro())
	if err != nil || n == 1 {
		return "", err
	}
	var oldHash, oldRef string
	var at int64
	if err := tx.QueryRow(`SELECT request_hash, reference, created_at FROM idempotency_keys
		WHERE member_id = ? AND scope = ? AND idem_key = ?`, memberID, scope, key).Scan(&oldHash, &oldRef, &at); err != nil {
		return "", err
	}
	if at <= now.Add(-s.cfg.IdemWindow).UnixMicro() {
		// Older than the window: the key is free again.
		n, err := tx.ExecAffected(`UPDATE idempotency_keys SET request_hash = ?, reference = ?, created_at = ?
			WHERE member_id = ? AND scope = ? AND idem_key = ? AND created_at = ?`, hash, ref, now.UnixMicro(), memberID, scope, key, at)
		if err != nil {
			return "", err
		}
		if n == 1 {
			return "", nil
		}
		return "", fault.Field(fault.Conflict, "partner_reference", "partner_reference %q is being used by another request", key)
	}
	if oldHash != hash {
		return "", fault.Field(fault.Conflict, "partner_reference", "partner_reference %q was used for a different request", key)
	}
	return oldRef, nil
}

// insert charges the member and records the order and its fulfilment job,
// and returns the order's id. The order's first status, processing, is its
// created_at; order_events holds the changes after it. The job costs base +
// the SKU's cost (base is an e-wallet top-up's amount, 0 otherwise). A
// leased job is one this process works at once (see started): it is
// recorded as claimed, in phase 'poll' with a lease, so that after a crash
// the order is only asked about, never submitted blindly again.
func (s *Service) insert(tx *db.Tx, m member.Member, o Order, form string, sku catalog.SKU, attempt int, base int64, now time.Time,
	leased bool) (id, inflight int64, err error) {
	inflight, err = s.account(tx, ledger.Stripe(ledger.Inflight, o.Reference), ledger.KindSystem, false)
	if err != nil {
		return 0, 0, err
	}
	id, err = tx.InsertID(`INSERT INTO orders (reference, member_id, partner_reference, product_code, product_name,
		provider_name, customer, form, price, status, created_at, status_at, expired_at, inflight)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.Reference, m.ID, o.PartnerReference, o.ProductCode, o.ProductName, o.ProviderName, o.Customer, form,
		o.Price, Processing, now.UnixMicro(), now.UnixMicro(), o.ExpiredAt.UnixMicro(), inflight)
	if err != nil {
		return 0, 0, err
	}
	phase, lease := "submit", int64(0)
	if leased {
		phase, lease = "poll", now.Add(s.cfg.Lease).UnixMicro()
	}
	if _, err := tx.Exec(`INSERT INTO fulfilment_jobs (order_id, phase, supplier, sku, cost, attempt, due_at, lease_until, base)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, phase, sku.Supplier, sku.SKU, base+sku.Cost, attempt, now.UnixMicro(), lease, base); err != nil {
		return 0, 0, err
	}
	// The charge comes last: on PostgreSQL its row locks (the member's
	// account, an inflight stripe) are then held only while committing.
	_, err = ledger.Transfer(tx, "order", o.Reference, m.AccountID, inflight, o.Price, now)
	return id, inflight, err
}

// chargeCandidates is how many inflight stripes a batch of charges is
// offered beyond two per order: the chance that too few are free, with
// the other orders and settlements in flight holding theirs, is then
// negligible.
const chargeCandidates = 8

// inflightCandidates draws n distinct inflight stripes at random and
// returns their accounts' ids, creating the accounts the first time.
func (s *Service) inflightCandidates(ctx context.Context, n int) ([]int64, error) {
	n = min(n, ledger.ChargeStripes)
	ids := make([]int64, 0, n)
	var drawn [ledger.ChargeStripes]bool
	for len(ids) < n {
		i := rand.IntN(ledger.ChargeStripes)
		if drawn[i] {
			continue
		}
		drawn[i] = true
		id := s.stripes[i].Load()
		if id == 0 {
			var err error
			if id, err = s.accountID(ctx, ledger.StripeCode(ledger.Inflight, i), ledger.KindSystem, false); err != nil {
				return nil, err
			}
			s.stripes[i].Store(id)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// accountID is account outside a transaction: a new account is created
// in a write of its own.
func (s *Service) accountID(ctx context.Context, code, kind string, allowNegative bool) (int64, error) {
	if id, ok := s.accounts.Load(code); ok {
		return id.(int64), nil
	}
	var id int64
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		id, err = s.account(tx, code, kind, allowNegative)
		return err
	})
	return id, err
}

// micro returns t as the database gives it back: to the microsecond, in
// UTC.
func micro(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// nextSKU returns the first active SKU after position `after` (1-based, in
// priority order) whose cost does not exceed price, and its position.
func nextSKU(skus []catalog.SKU, after int, price int64) (catalog.SKU, int, bool) {
	for i, k := range skus {
		if i+1 <= after || !k.Active || k.Cost > price {
			continue
		}
		return k, i + 1, true
	}
	return catalog.SKU{}, 0, false
}

// requestHash is the SHA-256 of the body re-encoded canonically (object
// keys sorted), so that formatting and key order do not make two equal
// requests differ.
func requestHash(body map[string]any) string {
	b, _ := json.Marshal(body)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

const orderColumns = `id, reference, partner_reference, member_id, product_code, product_name, provider_name,
	customer, price, status, sn, note, supplier, cost, webhook_sent, created_at, status_at, expired_at`

func scanOrder(row interface{ Scan(...any) error }) (Order, error) {
	var o Order
	var created, statusAt, expired int64
	err := row.Scan(&o.ID, &o.Reference, &o.PartnerReference, &o.MemberID, &o.ProductCode, &o.ProductName,
		&o.ProviderName, &o.Customer, &o.Price, &o.Status, &o.SN, &o.Note, &o.Supplier, &o.Cost, &o.WebhookSent,
		&created, &statusAt, &expired)
	o.CreatedAt = time.UnixMicro(created).UTC()
	o.StatusAt = time.UnixMicro(statusAt).UTC()
	o.ExpiredAt = time.UnixMicro(expired).UTC()
	return o, err
}

// Get returns member memberID's order with reference; another member's
// order is NotFound, exactly like a missing one.
func (s *Service) Get(ctx context.Context, memberID int64, ref string) (Order, error) {
	o, err := scanOrder(s.db.QueryRow(ctx, "SELECT "+orderColumns+" FROM orders WHERE reference = ? AND member_id = ?", ref, memberID))
	if errors.Is(err, db.ErrNotFound) {
		return Order{}, fault.New(fault.NotFound, "no order %s", ref)
	}
	return o, err
}

// GetByPartnerReference returns the member's latest order with the given
// partner_reference.
func (s *Service) GetByPartnerReference(ctx context.Context, memberID int64, pref string) (Order, error) {
	o, err := scanOrder(s.db.QueryRow(ctx, "SELECT "+orderColumns+` FROM orders
		WHERE member_id = ? AND partner_reference = ? ORDER BY id DESC LIMIT 1`, memberID, pref))
	if errors.Is(err, db.ErrNotFound) || pref == "" {
		return Order{}, fault.New(fault.NotFound, "no order with partner_reference %q", pref)
	}
	return o, err
}

// Stuck lists orders still processing longer than the configured bound
// (unknown or pending at their supplier): an operator must settle them.
func (s *Service) Stuck(ctx context.Context) ([]Order, error) {
	// The literal status lets both databases use the partial index
	// orders_processing.
	rows, err := s.db.Query(ctx, "SELECT "+orderColumns+` FROM orders
		WHERE status = 'processing' AND created_at <= ? ORDER BY created_at`, s.now().Add(-s.cfg.StuckAfter).UnixMicro())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Event is one recorded status change of an order.
type Event struct {
	Status   string
	Supplier string
	Detail   string
	At       time.Time
}

// Events returns an order's status changes, oldest first: processing at its
// creation, then each recorded change. A success is not recorded in
// order_events when the worker settles it (the order row holds it: status,
// supplier, sn, status_at); it is listed from the order unless the last
// recorded change already names the order's final status.
func (s *Service) Events(ctx context.Context, orderID int64) ([]Event, error) {
	var created, statusAt int64
	var final Event
	if err := s.db.QueryRow(ctx, "SELECT created_at, status, supplier, sn, status_at FROM orders WHERE id = ?", orderID).
		Scan(&created, &final.Status, &final.Supplier, &final.Detail, &statusAt); err != nil {
		return nil, err
	}
	final.At = time.UnixMicro(statusAt).UTC()
	out := []Event{{Status: Processing, At: time.UnixMicro(created).UTC()}}
	rows, err := s.db.Query(ctx, "SELECT status, supplier, detail, at FROM order_events WHERE order_id = ? ORDER BY id", orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Status, &e.Supplier, &e.Detail, &at); err != nil {
			return nil, err
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if final.Status != Processing && out[len(out)-1].Status != final.Status {
		out = append(out, final)
	}
	return out, nil
}

// note is the human note of a settled order, in WIB as the references
// write it.
func note(status string, at time.Time) string {
	ts := at.In(reference.WIB).Format("2006/01/02 15:04:05")
	switch status {
	case Success:
		return fmt.Sprintf("Transaksi berhasil pada %s WIB", ts)
	case Failed:
		return fmt.Sprintf("Transaksi gagal pada %s WIB, saldo telah dikembalikan", ts)
	}
	return ""
}

// ByReference returns the order with reference, whoever owns it; the public
// invoice page uses it (references are hard to guess).
func (s *Service) ByReference(ctx context.Context, ref string) (Order, error) {
	o, err := scanOrder(s.db.QueryRow(ctx, "SELECT "+orderColumns+" FROM orders WHERE reference = ?", ref))
	if errors.Is(err, db.ErrNotFound) {
		return Order{}, fault.New(fault.NotFound, "no order %s", ref)
	}
	return o, err
}
