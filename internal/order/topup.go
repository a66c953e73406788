package order

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/reference"
	"kios/internal/supplier"
)

// TopupRequest is an e-wallet top-up as a member asks for it (the PPOB
// face's transaction): the member's req_id, the e-wallet product, the
// account and the amount in rupiah.
type TopupRequest struct {
	ReqID       string
	ProductCode string
	Customer    string
	Amount      int64
}

// Topup is an e-wallet top-up: the order that carries it (Order.Price is
// the unit price charged: Amount + AdminFee; Order.Customer the normalised
// account) and what the member asked for.
type Topup struct {
	Order
	ReqID    string
	Amount   int64
	AdminFee int64
	// Charged is true on the top-up CreateTopup has just created, and
	// then BalanceAfter is the member's balance right after its charge.
	Charged      bool
	BalanceAfter int64
	// wait, on a top-up CreateTopup has just created, was registered
	// before the top-up went to a worker, so that AwaitTopup need not read
	// it first to learn whether it settled already.
	wait *waiter
}

// Quote is what an e-wallet top-up would cost, checked but not charged.
type Quote struct {
	Product  catalog.Ewallet
	Customer string // normalised
	Amount   int64
	AdminFee int64
	Price    int64 // Amount + AdminFee
	sku      catalog.SKU
	attempt  int
}

// Price checks an e-wallet top-up for member level level without moving
// money: the product exists, is on and is sold to the level; the customer
// fits the product's rule; the amount is within bounds; a supplier can
// deliver it at the price. Its errors are fault errors about "product_id",
// "cust_id" or "amount".
func (s *Service) Price(ctx context.Context, level, productCode, customer string, amount int64) (Quote, error) {
	if productCode == "" {
		return Quote{}, fault.Field(fault.Missing, "product_id", "product_id is required")
	}
	e, err := s.catalog.Ewallet(ctx, productCode)
	if err != nil {
		return Quote{}, err
	}
	fee, sold := e.Fee(level)
	if !e.Active || !sold {
		return Quote{}, fault.Field(fault.Inactive, "product_id", "product %s is not available", e.Code)
	}
	cust, err := e.NormalizeCustomer(customer)
	if err != nil {
		return Quote{}, err
	}
	if err := e.CheckAmount(amount); err != nil {
		return Quote{}, err
	}
	sku, attempt, ok := nextSKU(e.SKUs, 0, fee)
	if !ok {
		return Quote{}, fault.Field(fault.Inactive, "product_id", "product %s has no supplier that can deliver it at its fee", e.Code)
	}
	return Quote{Product: e, Customer: cust, Amount: amount, AdminFee: fee, Price: amount + fee, sku: sku, attempt: attempt}, nil
}

// Inquire asks the supplier that would deliver q who holds the account.
// ok is false when that supplier cannot answer inquiries; an error means it
// could not be asked.
func (s *Service) Inquire(ctx context.Context, q Quote) (acct supplier.Account, ok bool, err error) {
	sup, found := s.suppliers[q.sku.Supplier]
	inq, can := sup.(supplier.Inquirer)
	if !found || !can {
		return supplier.Account{}, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	acct, err = inq.Inquire(ctx, supplier.Inquiry{SKU: q.sku.SKU, Customer: q.Customer, Amount: q.Amount})
	return acct, err == nil, err
}

// checkReqID checks a req_id: 1 to 64 printable characters.
func checkReqID(id string) error {
	switch {
	case id == "":
		return fault.Field(fault.Missing, "req_id", "req_id is required")
	case len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }):
		return fault.Field(fault.Invalid, "req_id", "req_id must be 1 to 64 printable characters")
	}
	return nil
}

// CreateTopup prices req for member m, charges the unit price and queues
// the top-up, in one durable transaction. req_id is unique per member
// forever: when it was used before for the same product, customer and
// amount, the earlier top-up is returned (replayed) and nothing is charged;
// for a different one the answer is a fault.Conflict about "req_id". Two
// identical requests at the same instant charge once: the second waits for
// the first's key and then replays it.
func (s *Service) CreateTopup(ctx context.Context, m member.Member, req TopupRequest) (t Topup, replayed bool, err error) {
	if err := checkReqID(req.ReqID); err != nil {
		return Topup{}, false, err
	}
	q, err := s.Price(ctx, m.Level, req.ProductCode, req.Customer, req.Amount)
	if err != nil {
		return Topup{}, false, err
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", q.Product.Code, q.Customer, q.Amount))
	hash := hex.EncodeToString(sum[:])
	formValues := map[string]string{"cust_id": q.Customer, "amount": strconv.FormatInt(q.Amount, 10)}
	form, _ := json.Marshal(formValues)

	var prior bool
	var inflight int64
	leased := s.reserve()
	for try := 0; ; try++ {
		now := s.now()
		t = Topup{ReqID: req.ReqID, Amount: q.Amount, AdminFee: q.AdminFee, Order: Order{
			Reference: reference.New(s.cfg.Prefix, now), PartnerReference: req.ReqID, MemberID: m.ID,
			ProductCode: q.Product.Code, ProductName: q.Product.Name, ProviderName: q.Product.Operator, Customer: q.Customer,
			Price: q.Price, Status: Processing, CreatedAt: micro(now), StatusAt: micro(now), ExpiredAt: micro(now.Add(s.cfg.Lifetime)),
		}}
		if s.db.Dialect() == db.Postgres {
			var gated bool
			c := &pendingCharge{m: m, o: t.Order, form: string(form), sku: q.sku, attempt: q.attempt, base: q.Amount, now: now,
				leased: leased, reqID: req.ReqID, hash: hash, ewAmount: t.Amount, ewFee: t.AdminFee}
			s.insertBatched(ctx, c)
			t.ID, inflight, gated, err = c.id, c.inflight, c.gated, c.err
			t.Charged, t.BalanceAfter = gated && err == nil, c.balance
			if errors.Is(err, db.ErrConflict) && try < 3 {
				continue
			}
			if err != nil || gated {
				prior = false
				break
			}
			// Not written (see pendingCharge): the transaction below
			// finds out what the req_id names, or waits for a stripe.
		}
		err = s.db.Write(ctx, func(tx *db.Tx) error {
			var err error
			if prior, err = s.claimReqID(tx, m.ID, req.ReqID, hash, t, now); err != nil || prior {
				return err
			}
			if t.ID, inflight, err = s.insert(tx, m, t.Order, string(form), q.sku, q.attempt, q.Amount, now, leased); err != nil {
				return err
			}
			t.Charged = true
			return tx.QueryRow("SELECT balance FROM accounts WHERE id = ?", m.AccountID).Scan(&t.BalanceAfter)
		})
		if errors.Is(err, db.ErrConflict) && try < 3 {
			continue // a reference drawn twice: draw again
		}
		break
	}
	if leased && (err != nil || prior) {
		s.release()
	}
	switch {
	case errors.Is(err, ledger.ErrInsufficientFunds):
		return Topup{}, false, fault.New(fault.Insufficient, "balance is below the unit price %d", q.Price)
	case err != nil:
		return Topup{}, false, err
	}
	if prior {
		t, err = s.TopupByReqID(ctx, m.ID, req.ReqID)
		return t, true, err
	}
	t.wait = s.waits.add(t.Reference)
	s.started(t.Order, inflight, m, formValues, q.sku, q.attempt, q.Amount, leased)
	return t, false, nil
}

// claimReqID binds req_id to the new top-up t. When the member used it
// before it returns true if the request was the same, and a Conflict if it
// was not. On PostgreSQL the insert of a key another transaction is
// inserting waits for that transaction, so identical concurrent requests
// replay the one that committed.
func (s *Service) claimReqID(tx *db.Tx, memberID int64, reqID, hash string, t Topup, now time.Time) (bool, error) {
	n, err := tx.ExecAffected(`INSERT INTO ewallet_transactions (member_id, req_id, request_hash, reference, product_code,
		customer, amount, admin_fee, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (member_id, req_id) DO NOTHING`,
		memberID, reqID, hash, t.Reference, t.ProductCode, t.Customer, t.Amount, t.AdminFee, now.UnixMicro())
	if err != nil || n == 1 {
		return false, err
	}
	var old string
	if err := tx.QueryRow("SELECT request_hash FROM ewallet_transactions WHERE member_id = ? AND req_id = ?", memberID, reqID).Scan(&old); err != nil {
		return false, err
	}
	if old != hash {
		return false, fault.Field(fault.Conflict, "req_id", "req_id %q was used for a different product, customer or amount", reqID)
	}
	return true, nil
}

// jobSKUs returns the SKUs a job may fail over along: an e-wallet top-up's
// (base > 0) from its e-wallet product, any other order's from its product.
func (s *Service) jobSKUs(ctx context.Context, j job) ([]catalog.SKU, error) {
	if j.base > 0 {
		e, err := s.catalog.Ewallet(ctx, j.product)
		return e.SKUs, err
	}
	p, err := s.catalog.Product(ctx, j.product, "")
	return p.SKUs, err
}

// topupColumns are orderColumns read through the alias o.
var topupColumns = func() string {
	cols := strings.Split(orderColumns, ",")
	for i, c := range cols {
		cols[i] = "o." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// TopupByReqID returns member memberID's top-up with req_id; NotFound when
// there is none.
func (s *Service) TopupByReqID(ctx context.Context, memberID int64, reqID string) (Topup, error) {
	return s.topup(ctx, "t.member_id = ? AND t.req_id = ?", memberID, reqID)
}

func (s *Service) topup(ctx context.Context, where string, args ...any) (Topup, error) {
	var t Topup
	var err error
	row := s.db.QueryRow(ctx, `SELECT t.req_id, t.amount, t.admin_fee, `+topupColumns+`
		FROM ewallet_transactions t JOIN orders o ON o.reference = t.reference WHERE `+where, args...)
	t.Order, err = scanOrder(scanPrefix{row, []any{&t.ReqID, &t.Amount, &t.AdminFee}})
	if errors.Is(err, db.ErrNotFound) {
		return Topup{}, fault.New(fault.NotFound, "no transaction with that req_id")
	}
	return t, err
}

// scanPrefix scans the first len(dest) columns into dest and the rest into
// what Scan is given.
type scanPrefix struct {
	row  interface{ Scan(...any) error }
	dest []any
}

func (p scanPrefix) Scan(dest ...any) error { return p.row.Scan(append(p.dest, dest...)...) }

// AwaitTopup waits until top-up t has settled or bound has passed, and
// returns its state then. A settlement in this process wakes it at once and
// hands it the settled state (no read); the state is also re-read at
// growing intervals (50 ms up to 1 s), so a settlement made by another kios
// process on the same database is seen as well. A waiter that CreateTopup
// left on t is used and removed; one that is never awaited is removed when
// the top-up settles.
func (s *Service) AwaitTopup(ctx context.Context, t Topup, bound time.Duration) (Topup, error) {
	if t.Status != Processing {
		return t, nil
	}
	// A waiter registered by CreateTopup saw the whole life of the top-up
	// in this process: no need to read it before waiting.
	w, read := t.wait, false
	t.wait = nil
	if w == nil {
		w, read = s.waits.add(t.Reference), true
	}
	defer s.waits.remove(t.Reference, w)
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	pause := 50 * time.Millisecond
	for {
		if read {
			cur, err := s.TopupByReqID(ctx, t.MemberID, t.ReqID)
			if err != nil || cur.Status != Processing {
				return cur, err
			}
			t = cur
		}
		read = true
		tick := time.NewTimer(pause)
		select {
		case <-w.ch:
			tick.Stop()
			if f := w.final; f != nil {
				t.Status, t.SN, t.Note, t.Supplier, t.StatusAt = f.Status, f.SN, f.Note, f.Supplier, f.StatusAt
				if f.Status == Success {
					t.Cost = f.Cost
				}
				return t, nil
			}
			continue
		case <-tick.C:
			pause = min(2*pause, time.Second)
		case <-deadline.C:
			tick.Stop()
			return t, nil
		case <-ctx.Done():
			tick.Stop()
			return t, nil
		}
	}
}

// waiters are the callers waiting for orders to settle, by reference. The
// zero value is ready to use.
type waiters struct {
	mu sync.Mutex
	m  map[string]*waiter
}

// waiter is shared by the callers waiting for one order. ch is closed when
// the order settles in this process; final, set before, is its settled
// state as the settle path wrote it (status, sn, note, supplier, status_at,
// and the cost of a success).
type waiter struct {
	ch    chan struct{}
	final *Order
	n     int
}

// add registers a waiter for ref.
func (w *waiters) add(ref string) *waiter {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]*waiter{}
	}
	x, ok := w.m[ref]
	if !ok {
		x = &waiter{ch: make(chan struct{})}
		w.m[ref] = x
	}
	x.n++
	return x
}

// remove unregisters one caller of x, which add gave it for ref.
func (w *waiters) remove(ref string, x *waiter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cur, ok := w.m[ref]; ok && cur == x {
		if x.n--; x.n == 0 {
			delete(w.m, ref)
		}
	}
}

// done hands ref's settled state to every waiter for ref and wakes them;
// later waiters find the settled state when they first read it.
func (w *waiters) done(ref string, final Order) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if x, ok := w.m[ref]; ok {
		x.final = &final
		close(x.ch)
		delete(w.m, ref)
	}
}
