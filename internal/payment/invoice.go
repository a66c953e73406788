package payment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/qris"
	"kios/internal/reference"
	"kios/internal/webhook"
)

// Invoice statuses, as the payment face names them.
const (
	Unpaid  = "unpaid"
	Paid    = "paid"
	Expired = "expired"
)

// Limits and defaults of invoices.
const (
	MinAmount         = 1_000      // rupiah; the reference's minimum
	MaxAmount         = 10_000_000 // rupiah; Bank Indonesia's per-transaction QRIS limit
	MaxTextLen        = 100        // characters of description and customer_name
	MaxMerchantRefLen = 64
	DefaultCodeMin    = 1
	DefaultCodeMax    = 999
	MaxCode           = 99_999
	DefaultGrace      = time.Hour
	DefaultPrefix     = "INV"
	idemWindow        = 24 * time.Hour
	allocAttempts     = 100
)

// KindPaymentStatus is the webhook_type of the message a store's callback
// URL receives when one of its invoices is paid.
const KindPaymentStatus = "payment_status"

// ErrCodesExhausted is the fault when every unique code of the store's
// range is taken, for the amount asked, by invoices that may still be paid.
var ErrCodesExhausted = &fault.Error{Code: fault.Conflict, Field: "amount",
	Detail: "every unique code for this amount is taken by open invoices of the store; choose another amount or wait"}

// QRISAccount returns the ledger account of money outside that reaches
// store storeID through QRIS.
func QRISAccount(storeID int64) string { return "world:qris:" + strconv.FormatInt(storeID, 10) }

// Options configure a Service. The zero value gives the defaults.
type Options struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// CodeMin and CodeMax bound the unique code added to an invoice's
	// amount (defaults 1 and 999).
	CodeMin, CodeMax int64
	// Grace is how long an expired invoice's total stays reserved for it:
	// a payment within it still pays the invoice (late). Zero means
	// DefaultGrace; negative means none.
	Grace time.Duration
	// Prefix starts invoice numbers (default "INV").
	Prefix string
	// Hooks, when set, carries payment_status messages to the stores'
	// callback URLs.
	Hooks *webhook.Service
	// Logger receives the expiry worker's errors (slog.Default when nil).
	Logger *slog.Logger
}

// Service creates invoices, pays them and expires them.
type Service struct {
	db     *db.DB
	stores *Stores
	opt    Options

	accounts  sync.Map // account code → id, once committed
	templates sync.Map // static QRIS payload → *qris.Template
	nTemplate atomic.Int64
}

// maxTemplates bounds the cached QRIS templates; beyond it the cache
// starts afresh.
const maxTemplates = 10_000

// template returns the qris.Template of a static payload, made once. A
// template depends on the payload alone, so a store whose QRIS changes
// simply uses another entry.
func (s *Service) template(static string) (*qris.Template, error) {
	if t, ok := s.templates.Load(static); ok {
		return t.(*qris.Template), nil
	}
	t, err := qris.NewTemplate(static)
	if err != nil {
		return nil, err
	}
	if _, loaded := s.templates.Swap(static, t); !loaded && s.nTemplate.Add(1) > maxTemplates {
		s.templates.Clear()
		s.nTemplate.Store(0)
	}
	return t, nil
}

// New returns a Service on d reading stores from stores. It refuses a code
// range that is empty or outside 0 to MaxCode.
func New(d *db.DB, stores *Stores, opt Options) (*Service, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.CodeMin == 0 && opt.CodeMax == 0 {
		opt.CodeMin, opt.CodeMax = DefaultCodeMin, DefaultCodeMax
	}
	if opt.CodeMin < 0 || opt.CodeMax > MaxCode || opt.CodeMin > opt.CodeMax {
		return nil, fmt.Errorf("payment: unique code range %d–%d: want 0 ≤ min ≤ max ≤ %d", opt.CodeMin, opt.CodeMax, MaxCode)
	}
	if opt.Grace == 0 {
		opt.Grace = DefaultGrace
	} else if opt.Grace < 0 {
		opt.Grace = 0
	}
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Service{db: d, stores: stores, opt: opt}, nil
}

// Stores returns the stores the service reads.
func (s *Service) Stores() *Stores { return s.stores }

// Grace returns how long an expired invoice's total stays reserved.
func (s *Service) Grace() time.Duration { return s.opt.Grace }

// clock returns the current time as it is stored: UTC, in microseconds.
func (s *Service) clock() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// Invoice is one payment request of a store.
type Invoice struct {
	ID           int64
	Invoice      string
	StoreID      int64
	MemberID     int64 // the store's owner
	MerchantRef  string
	Amount       int64
	UniqueCode   int64
	Total        int64 // Amount + UniqueCode: what the payer pays
	Fee          int64 // the platform's fee when it is paid
	Description  string
	CustomerName string
	QRContent    string
	Status       string // as stored; see StatusAt
	Late         bool   // paid after expired_at, within the grace period
	PaidBy       string
	CreatedAt    time.Time
	ExpiredAt    time.Time
	HeldUntil    time.Time
	PaidAt       time.Time // zero unless paid
	StoreName    string
	Sandbox      bool // the store's sandbox flag, when read with Get
}

// StatusAt returns the invoice's status at now: an unpaid invoice whose
// expired_at has passed is expired even before the expiry worker has
// marked it.
func (i Invoice) StatusAt(now time.Time) string {
	if i.Status == Unpaid && !now.Before(i.ExpiredAt) {
		return Expired
	}
	return i.Status
}

// NewInvoice is what a merchant asks for.
type NewInvoice struct {
	StoreID      int64
	Amount       int64
	Description  string
	CustomerName string
	MerchantRef  string // optional idempotency key, per store, for 24 hours
}

// hash is the digest of the request that makes two requests with one
// merchant_ref "the same".
func (n NewInvoice) hash() string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%d\x00%d\x00%s\x00%s", n.StoreID, n.Amount, n.Description, n.CustomerName)))
	return hex.EncodeToString(h[:])
}

// check normalizes and checks n's fields.
func (n *NewInvoice) check() error {
	n.Description = strings.TrimSpace(n.Description)
	n.CustomerName = strings.TrimSpace(n.CustomerName)
	n.MerchantRef = strings.TrimSpace(n.MerchantRef)
	switch {
	case n.StoreID <= 0:
		return fault.Field(fault.Invalid, "store_id", "must be a positive integer")
	case n.Amount < MinAmount:
		return fault.Field(fault.BelowMinimum, "amount", "the minimum is %d", MinAmount)
	case n.Amount > MaxAmount:
		return fault.Field(fault.AboveMaximum, "amount", "the maximum is %d", MaxAmount)
	}
	for _, f := range []struct{ name, v string }{{"description", n.Description}, {"customer_name", n.CustomerName}} {
		if err := checkText(f.name, f.v, MaxTextLen); err != nil {
			return err
		}
	}
	if len(n.MerchantRef) > MaxMerchantRefLen {
		return fault.Field(fault.Invalid, "merchant_ref", "is longer than %d characters", MaxMerchantRefLen)
	}
	for _, r := range n.MerchantRef {
		if r < 0x21 || r > 0x7e {
			return fault.Field(fault.Invalid, "merchant_ref", "may hold only printable ASCII without spaces")
		}
	}
	return nil
}

// checkText checks optional free text: valid UTF-8, no control characters,
// at most limit characters.
func checkText(field, s string, limit int) error {
	if !utf8.ValidString(s) {
		return fault.Field(fault.Invalid, field, "is not valid UTF-8")
	}
	n := 0
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return fault.Field(fault.Invalid, field, "contains a control character")
		}
		n++
	}
	if n > limit {
		return fault.Field(fault.Invalid, field, "has %d characters; at most %d are allowed", n, limit)
	}
	return nil
}

// Create makes an unpaid invoice on a store of member memberID. Its unique
// code is one of the configured range such that no other invoice of the
// store that may still be paid (unpaid, or expired within the grace period)
// has the same total; ErrCodesExhausted when there is none. replayed is
// true when n repeats, with the same merchant_ref and fields, a request of
// the last 24 hours: the earlier invoice is returned. The same merchant_ref
// with other fields is a fault.Conflict about "merchant_ref".
//
// Faults: a store that does not exist or is another member's is
// fault.NotFound about "store_id"; an inactive store fault.Inactive.
func (s *Service) Create(ctx context.Context, memberID int64, n NewInvoice) (inv Invoice, replayed bool, err error) {
	if err := n.check(); err != nil {
		return Invoice{}, false, err
	}
	st, err := s.stores.Get(ctx, n.StoreID)
	if err != nil && fault.CodeOf(err) != fault.NotFound {
		return Invoice{}, false, err
	}
	if err != nil || st.MemberID != memberID {
		return Invoice{}, false, fault.Field(fault.NotFound, "store_id", "no store %d of yours", n.StoreID)
	}
	if !st.Active {
		return Invoice{}, false, fault.Field(fault.Inactive, "store_id", "store %d is not active", n.StoreID)
	}
	static := st.StaticQRIS
	if static == "" {
		static = DemoQRIS("SANDBOX "+st.Name, "Jakarta")
	}
	// The first code is drawn, and its payload made, before the write:
	// almost always it is free, and the writer is spared the work.
	code := s.opt.CodeMin + rand.Int64N(s.opt.CodeMax-s.opt.CodeMin+1)
	tpl, err := s.template(static)
	if err != nil {
		return Invoice{}, false, fmt.Errorf("payment: store %d: dynamic QRIS: %w", st.ID, err)
	}
	qr, err := tpl.Dynamic(n.Amount + code)
	if err != nil {
		return Invoice{}, false, fmt.Errorf("payment: store %d: dynamic QRIS: %w", st.ID, err)
	}
	hash := n.hash()
	var prior string
	for try := 0; ; try++ {
		now := s.clock()
		inv = Invoice{
			Invoice: reference.NewLong(s.opt.Prefix, now), StoreID: st.ID, MemberID: st.MemberID, MerchantRef: n.MerchantRef,
			Amount: n.Amount, Description: n.Description, CustomerName: n.CustomerName, Status: Unpaid,
			CreatedAt: now, ExpiredAt: now.Add(st.Lifetime), StoreName: st.Name, Sandbox: st.Sandbox,
		}
		inv.HeldUntil = inv.ExpiredAt.Add(s.opt.Grace)
		err = s.db.Write(ctx, func(tx *db.Tx) error {
			prior = ""
			if n.MerchantRef != "" {
				var err error
				if prior, err = claimKey(tx, st.ID, n.MerchantRef, hash, inv.Invoice, now); err != nil || prior != "" {
					return err
				}
			}
			return s.insert(tx, &inv, st, tpl, code, qr, now)
		})
		if errors.Is(err, db.ErrConflict) && try < 3 {
			continue // an invoice number drawn twice: draw again
		}
		break
	}
	if err != nil {
		return Invoice{}, false, err
	}
	if prior != "" {
		inv, err = s.Get(ctx, prior)
		return inv, true, err
	}
	return inv, false, nil
}

// insert reserves a total for inv and records it. code and qr are the
// first guess, made outside the write.
func (s *Service) insert(tx *db.Tx, inv *Invoice, st Store, tpl *qris.Template, code int64, qr string, now time.Time) error {
	held := inv.HeldUntil.UnixMicro()
	for attempt := range allocAttempts {
		if attempt > 0 {
			free, err := s.freeCodes(tx, st.ID, inv.Amount, now)
			if err != nil {
				return err
			}
			if len(free) == 0 {
				return ErrCodesExhausted
			}
			code = free[rand.IntN(len(free))]
			if qr, err = tpl.Dynamic(inv.Amount + code); err != nil {
				return err
			}
		}
		// The total is taken when no row holds it, or when the row's hold
		// has passed; a concurrent taker of the same total waits on
		// PostgreSQL, and one of the two finds it held.
		n, err := tx.ExecAffected(`INSERT INTO invoice_totals (store_id, total_amount, invoice, held_until) VALUES (?, ?, ?, ?)
			ON CONFLICT (store_id, total_amount) DO UPDATE SET invoice = excluded.invoice, held_until = excluded.held_until
			WHERE invoice_totals.held_until <= ?`, st.ID, inv.Amount+code, inv.Invoice, held, now.UnixMicro())
		if err != nil {
			return err
		}
		if n == 1 {
			inv.UniqueCode, inv.Total, inv.QRContent = code, inv.Amount+code, qr
			inv.Fee = st.Fee(inv.Total)
			inv.ID, err = tx.InsertID(`INSERT INTO invoices (invoice, store_id, member_id, merchant_ref, amount, unique_code,
				total_amount, fee, description, customer_name, qr_content, status, created_at, expired_at, held_until, status_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'unpaid', ?, ?, ?, ?)`,
				inv.Invoice, inv.StoreID, inv.MemberID, inv.MerchantRef, inv.Amount, inv.UniqueCode, inv.Total, inv.Fee,
				inv.Description, inv.CustomerName, inv.QRContent, now.UnixMicro(), inv.ExpiredAt.UnixMicro(), held, now.UnixMicro())
			return err
		}
	}
	return fmt.Errorf("payment: no unique code won after %d attempts", allocAttempts)
}

// freeCodes returns the codes of the range whose total no invoice of the
// store holds at now.
func (s *Service) freeCodes(tx *db.Tx, storeID, amount int64, now time.Time) ([]int64, error) {
	lo, hi := s.opt.CodeMin, s.opt.CodeMax
	taken := make([]bool, hi-lo+1)
	rows, err := tx.Query(`SELECT total_amount FROM invoice_totals WHERE store_id = ? AND total_amount >= ? AND total_amount <= ?
		AND held_until > ?`, storeID, amount+lo, amount+hi, now.UnixMicro())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		taken[t-amount-lo] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	free := make([]int64, 0, len(taken))
	for i, t := range taken {
		if !t {
			free = append(free, lo+int64(i))
		}
	}
	return free, nil
}

// claimKey records merchant_ref for a new invoice. When the key is taken
// within the window it returns the earlier invoice if the request is the
// same, and a Conflict if it is not.
func claimKey(tx *db.Tx, storeID int64, key, hash, inv string, now time.Time) (string, error) {
	n, err := tx.ExecAffected(`INSERT INTO invoice_keys (store_id, merchant_ref, invoice, request_hash, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, storeID, key, inv, hash, now.UnixMicro())
	if err != nil || n == 1 {
		return "", err
	}
	var oldHash, oldInv string
	var at int64
	if err := tx.QueryRow(`SELECT request_hash, invoice, created_at FROM invoice_keys WHERE store_id = ? AND merchant_ref = ?`,
		storeID, key).Scan(&oldHash, &oldInv, &at); err != nil {
		return "", err
	}
	if at <= now.Add(-idemWindow).UnixMicro() {
		n, err := tx.ExecAffected(`UPDATE invoice_keys SET request_hash = ?, invoice = ?, created_at = ?
			WHERE store_id = ? AND merchant_ref = ? AND created_at = ?`, hash, inv, now.UnixMicro(), storeID, key, at)
		if err != nil {
			return "", err
		}
		if n == 1 {
			return "", nil
		}
		return "", fault.Field(fault.Conflict, "merchant_ref", "merchant_ref %q is being used by another request", key)
	}
	if oldHash != hash {
		return "", fault.Field(fault.Conflict, "merchant_ref", "merchant_ref %q was used for a different request", key)
	}
	return oldInv, nil
}

// invoiceCols are the columns scanInvoice reads, with the store's name and
// sandbox flag; queries join stores as s and invoices as i.
const invoiceCols = `i.id, i.invoice, i.store_id, i.member_id, i.merchant_ref, i.amount, i.unique_code, i.total_amount, i.fee,
	i.description, i.customer_name, i.qr_content, i.status, i.late, i.paid_by, i.created_at, i.expired_at, i.held_until, i.paid_at,
	s.name, s.sandbox`

func scanInvoice(row scanner, extra ...any) (Invoice, error) {
	var (
		i                                Invoice
		created, expired, held, paidAtUS int64
	)
	dest := append([]any{&i.ID, &i.Invoice, &i.StoreID, &i.MemberID, &i.MerchantRef, &i.Amount, &i.UniqueCode, &i.Total, &i.Fee,
		&i.Description, &i.CustomerName, &i.QRContent, &i.Status, &i.Late, &i.PaidBy, &created, &expired, &held, &paidAtUS,
		&i.StoreName, &i.Sandbox}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Invoice{}, err
	}
	i.CreatedAt, i.ExpiredAt, i.HeldUntil = time.UnixMicro(created).UTC(), time.UnixMicro(expired).UTC(), time.UnixMicro(held).UTC()
	if paidAtUS != 0 {
		i.PaidAt = time.UnixMicro(paidAtUS).UTC()
	}
	return i, nil
}

// Get returns invoice number inv; fault.NotFound when there is none.
func (s *Service) Get(ctx context.Context, inv string) (Invoice, error) {
	i, err := scanInvoice(s.db.QueryRow(ctx, "SELECT "+invoiceCols+" FROM invoices i JOIN stores s ON s.id = i.store_id WHERE i.invoice = ?", inv))
	if errors.Is(err, db.ErrNotFound) {
		return Invoice{}, fault.Field(fault.NotFound, "invoice", "no invoice %q", inv)
	}
	return i, err
}

// Now returns the service's current time, for callers that judge an
// invoice's status (StatusAt) by the same clock.
func (s *Service) Now() time.Time { return s.clock() }
