// Package payment collects payments for members' stores with dynamic QRIS
// codes. This file keeps the stores themselves: who owns them, the static
// QRIS each invoice's code is made from, where payment webhooks go, how long
// an invoice stays open, and the platform's fee.
package payment

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/qris"
)

// Limits of a store's settings.
const (
	MaxNameLen      = 100 // characters of a store's name
	MaxCallbackLen  = 2048
	DefaultLifetime = 60 * time.Minute
	MinLifetime     = time.Minute
	MaxLifetime     = 7 * 24 * time.Hour
	MaxFeePercentBP = 10_000 // 100 %
)

// Store is a member's point of sale for QRIS payments.
type Store struct {
	ID           int64
	MemberID     int64
	Name         string
	StaticQRIS   string // the merchant's printed payload; "" for none
	CallbackURL  string // where payment_status webhooks go; "" for none
	Lifetime     time.Duration
	FeeFlat      int64 // rupiah per paid invoice
	FeePercentBP int64 // basis points of the amount: 250 is 2.5 %
	Sandbox      bool  // payments may be simulated
	Active       bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Fee returns the platform's fee on a paid amount: FeeFlat plus
// FeePercentBP/10000 of amount, the percentage rounded half up to the whole
// rupiah (0.5 rupiah and more round up, less rounds down), and never more
// than amount itself, so that the store owner's credit is never negative.
// An amount of zero or less has no fee.
func (s Store) Fee(amount int64) int64 {
	if amount <= 0 {
		return 0
	}
	// amount*bp/10000 split so that it cannot overflow: with
	// amount = q*10000 + r, amount*bp = q*bp*10000 + r*bp.
	q, r := amount/10_000, amount%10_000
	pct := q*s.FeePercentBP + (r*s.FeePercentBP+5_000)/10_000
	return min(s.FeeFlat+pct, amount)
}

// Settings are a store's editable fields, the input of Update.
type Settings struct {
	Name         string
	StaticQRIS   string        // "" for none
	CallbackURL  string        // "" for none; otherwise an absolute http(s) URL
	Lifetime     time.Duration // 0 means DefaultLifetime
	FeeFlat      int64
	FeePercentBP int64
	Sandbox      bool
}

// NewStore is the input of Add.
type NewStore struct {
	MemberID     int64
	Name         string
	StaticQRIS   string
	CallbackURL  string
	Lifetime     time.Duration // 0 means DefaultLifetime
	FeeFlat      int64
	FeePercentBP int64
	Sandbox      bool
}

func (n NewStore) settings() Settings {
	return Settings{Name: n.Name, StaticQRIS: n.StaticQRIS, CallbackURL: n.CallbackURL, Lifetime: n.Lifetime,
		FeeFlat: n.FeeFlat, FeePercentBP: n.FeePercentBP, Sandbox: n.Sandbox}
}

// normalize trims the text fields, fills in the default lifetime and
// checks every field, returning a *fault.Error that names the first bad
// one.
func (s *Settings) normalize() error {
	s.Name = strings.TrimSpace(s.Name)
	s.StaticQRIS = strings.TrimSpace(s.StaticQRIS)
	s.CallbackURL = strings.TrimSpace(s.CallbackURL)
	if s.Lifetime == 0 {
		s.Lifetime = DefaultLifetime
	}
	switch n := utf8.RuneCountInString(s.Name); {
	case n == 0:
		return fault.Field(fault.Missing, "name", "is required")
	case n > MaxNameLen:
		return fault.Field(fault.Invalid, "name", "has %d characters; at most %d are allowed", n, MaxNameLen)
	case !utf8.ValidString(s.Name):
		return fault.Field(fault.Invalid, "name", "is not valid UTF-8")
	}
	if err := CheckStaticQRIS(s.StaticQRIS); err != nil {
		return err
	}
	if err := checkCallback(s.CallbackURL); err != nil {
		return err
	}
	switch {
	case s.Lifetime < MinLifetime || s.Lifetime > MaxLifetime:
		return fault.Field(fault.Invalid, "lifetime", "is %s; it must be from %s to %s", s.Lifetime, MinLifetime, MaxLifetime)
	case s.Lifetime%time.Second != 0:
		return fault.Field(fault.Invalid, "lifetime", "is %s; it must be a whole number of seconds", s.Lifetime)
	case s.FeeFlat < 0:
		return fault.Field(fault.Invalid, "fee_flat", "is %d; it must not be negative", s.FeeFlat)
	case s.FeePercentBP < 0 || s.FeePercentBP > MaxFeePercentBP:
		return fault.Field(fault.Invalid, "fee_percent_bp", "is %d; it must be from 0 to %d basis points", s.FeePercentBP, MaxFeePercentBP)
	}
	return nil
}

// CheckStaticQRIS accepts "" (no QRIS) or a payload that passes
// qris.Validate (it parses, its CRC checks, its fields are well formed) and
// is static. Anything else is a fault.Invalid about "static_qris" whose
// Detail keeps the qris package's explanation.
func CheckStaticQRIS(payload string) error {
	if payload == "" {
		return nil
	}
	if err := qris.Validate(payload); err != nil {
		return &fault.Error{Code: fault.Invalid, Field: "static_qris",
			Detail: "is not a valid QRIS payload: " + err.Error(), Err: err}
	}
	p, err := qris.Parse(payload)
	if err != nil { // Validate parsed it already
		return &fault.Error{Code: fault.Invalid, Field: "static_qris", Detail: err.Error(), Err: err}
	}
	if !p.IsStatic() {
		return &fault.Error{Code: fault.Invalid, Field: "static_qris",
			Detail: "is a dynamic QRIS (point of initiation 12); a store needs the merchant's static one (11)",
			Err:    qris.ErrNotStatic}
	}
	return nil
}

// checkCallback accepts "" or an absolute http or https URL with a host.
func checkCallback(raw string) error {
	if raw == "" {
		return nil
	}
	if len(raw) > MaxCallbackLen {
		return fault.Field(fault.Invalid, "callback_url", "has %d characters; at most %d are allowed", len(raw), MaxCallbackLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fault.Field(fault.Invalid, "callback_url", "is not a URL")
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" || u.Host == "" || u.Hostname() == "" {
		return fault.Field(fault.Invalid, "callback_url", "must be an absolute http:// or https:// URL")
	}
	return nil
}

var errNoStore = fault.New(fault.NotFound, "no such store")

// The store cache's bounds.
const (
	// storeCacheTTL bounds how long a cached store is served. Changes made
	// through this Stores invalidate the cache at once; the TTL bounds how
	// long another kios process sharing the PostgreSQL database serves a
	// store as it was before a change made there.
	storeCacheTTL = time.Second
	// storeCacheMax bounds the entries; beyond it the cache starts afresh.
	storeCacheMax = 10_000
)

// Stores reads and writes stores.
//
// Get answers from an in-process cache of the stores asked for, as
// catalog.Store does for products: every write method advances a
// generation counter after its write has returned, which invalidates every
// entry, and an entry also expires after storeCacheTTL (one second). An
// entry records the generation read before its row was loaded, so a load
// that races with a write is never served after the write returns. The
// stores table must therefore be written only through a Stores. Unknown
// ids are not cached.
type Stores struct {
	db  *db.DB
	now func() time.Time

	gen   atomic.Uint64
	cache sync.Map // store id → *storeEntry
	size  atomic.Int64
}

type storeEntry struct {
	st      Store
	gen     uint64
	expires time.Time
}

// invalidate drops every cached store; write methods call it after their
// write has returned.
func (s *Stores) invalidate() {
	s.gen.Add(1)
	s.cache.Clear()
	s.size.Store(0)
}

// NewStores returns a Stores on d that reads the time from now (time.Now
// when nil).
func NewStores(d *db.DB, now func() time.Time) *Stores {
	if now == nil {
		now = time.Now
	}
	return &Stores{db: d, now: now}
}

// clock returns the current time as it is stored: UTC, in microseconds.
func (s *Stores) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Add creates an active store for member n.MemberID. Every field is
// checked first (see Settings); an unknown member is a fault.NotFound about
// "member_id".
func (s *Stores) Add(ctx context.Context, n NewStore) (Store, error) {
	return s.AddWith(ctx, n, nil)
}

// AddWith is Add, running also (when not nil) with the new store inside
// its transaction; an error of also undoes the addition.
func (s *Stores) AddWith(ctx context.Context, n NewStore, also func(tx *db.Tx, st Store) error) (Store, error) {
	set := n.settings()
	if err := set.normalize(); err != nil {
		return Store{}, err
	}
	now := s.clock()
	st := fromSettings(set)
	st.MemberID, st.Active, st.CreatedAt, st.UpdatedAt = n.MemberID, true, now, now
	defer s.invalidate()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var one int
		err := tx.QueryRow("SELECT 1 FROM members WHERE id = ?", n.MemberID).Scan(&one)
		if errors.Is(err, db.ErrNotFound) {
			return fault.Field(fault.NotFound, "member_id", "no member has id %d", n.MemberID)
		}
		if err != nil {
			return err
		}
		st.ID, err = tx.InsertID(`INSERT INTO stores (member_id, name, static_qris, callback_url, invoice_lifetime_sec,
			fee_flat, fee_percent_bp, sandbox, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.MemberID, st.Name, st.StaticQRIS, st.CallbackURL, int64(st.Lifetime/time.Second),
			st.FeeFlat, st.FeePercentBP, st.Sandbox, st.Active, now.UnixMicro(), now.UnixMicro())
		if err != nil || also == nil {
			return err
		}
		return also(tx, st)
	})
	if err != nil {
		return Store{}, err
	}
	return st, nil
}

func fromSettings(set Settings) Store {
	return Store{Name: set.Name, StaticQRIS: set.StaticQRIS, CallbackURL: set.CallbackURL, Lifetime: set.Lifetime,
		FeeFlat: set.FeeFlat, FeePercentBP: set.FeePercentBP, Sandbox: set.Sandbox}
}

// storeCols are the columns scanStore reads, in its order.
const storeCols = `id, member_id, name, static_qris, callback_url, invoice_lifetime_sec,
	fee_flat, fee_percent_bp, sandbox, active, created_at, updated_at`

// scanner is what *db.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

func scanStore(row scanner) (Store, error) {
	var (
		st                        Store
		lifetime, created, update int64
	)
	err := row.Scan(&st.ID, &st.MemberID, &st.Name, &st.StaticQRIS, &st.CallbackURL, &lifetime,
		&st.FeeFlat, &st.FeePercentBP, &st.Sandbox, &st.Active, &created, &update)
	if err != nil {
		return Store{}, err
	}
	st.Lifetime = time.Duration(lifetime) * time.Second
	st.CreatedAt, st.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(update).UTC()
	return st, nil
}

// Get returns store id; fault.NotFound when there is none. It is on the
// hot path of invoice creation: answered from the cache when it can be
// (see Stores), else with one query by primary key.
func (s *Stores) Get(ctx context.Context, id int64) (Store, error) {
	gen := s.gen.Load()
	if v, ok := s.cache.Load(id); ok {
		e := v.(*storeEntry)
		if e.gen == gen && s.now().Before(e.expires) {
			return e.st, nil
		}
	}
	st, err := scanStore(s.db.QueryRow(ctx, "SELECT "+storeCols+" FROM stores WHERE id = ?", id))
	if errors.Is(err, db.ErrNotFound) {
		return Store{}, errNoStore
	}
	if err != nil {
		return Store{}, err
	}
	if _, loaded := s.cache.Swap(id, &storeEntry{st: st, gen: gen, expires: s.now().Add(storeCacheTTL)}); !loaded {
		if s.size.Add(1) > storeCacheMax {
			s.cache.Clear()
			s.size.Store(0)
		}
	}
	return st, nil
}

// ForMember returns the stores of member memberID, oldest first (none is
// not an error).
func (s *Stores) ForMember(ctx context.Context, memberID int64) ([]Store, error) {
	rows, err := s.db.Query(ctx, "SELECT "+storeCols+" FROM stores WHERE member_id = ? ORDER BY id", memberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Store
	for rows.Next() {
		st, err := scanStore(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// Update replaces the editable settings of store id, checked as Add checks
// them, and returns the store as saved; fault.NotFound when there is no
// such store.
func (s *Stores) Update(ctx context.Context, id int64, set Settings) (Store, error) {
	if err := set.normalize(); err != nil {
		return Store{}, err
	}
	now := s.clock()
	var st Store
	defer s.invalidate()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		n, err := tx.ExecAffected(`UPDATE stores SET name = ?, static_qris = ?, callback_url = ?, invoice_lifetime_sec = ?,
			fee_flat = ?, fee_percent_bp = ?, sandbox = ?, updated_at = ? WHERE id = ?`,
			set.Name, set.StaticQRIS, set.CallbackURL, int64(set.Lifetime/time.Second),
			set.FeeFlat, set.FeePercentBP, set.Sandbox, now.UnixMicro(), id)
		if err != nil {
			return err
		}
		if n == 0 {
			return errNoStore
		}
		st, err = scanStore(tx.QueryRow("SELECT "+storeCols+" FROM stores WHERE id = ?", id))
		return err
	})
	if err != nil {
		return Store{}, err
	}
	return st, nil
}

// SetActive switches store id on or off; fault.NotFound when there is no
// such store.
func (s *Stores) SetActive(ctx context.Context, id int64, on bool) error {
	now := s.clock()
	defer s.invalidate()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		n, err := tx.ExecAffected("UPDATE stores SET active = ?, updated_at = ? WHERE id = ?", on, now.UnixMicro(), id)
		if err != nil {
			return err
		}
		if n == 0 {
			return errNoStore
		}
		return nil
	})
}

// DemoGUID is the GUID of the merchant account template (ID 26) in the
// payloads DemoQRIS makes: well formed, but no acquirer's, so no real
// wallet will pay them.
const DemoGUID = "ID.KIOS.WWW"

// DemoQRIS returns a static QRIS payload of kios's own making for a store
// called name in city, for the demo and sandbox stores. It passes
// qris.Validate and is static: 00=01, 01=11, a merchant account template 26
// (GUID DemoGUID, a merchant id) and the national template 51
// (ID.CO.QRIS.WWW, a 15-character NMID, criteria UMI), MCC 5499, currency
// 360, country ID, then name and city cut to printable ASCII of at most 25
// and 15 characters ("Kios Demo" and "Jakarta" when nothing is left). The
// ids are derived from name and city, so the same arguments give the same
// payload.
func DemoQRIS(name, city string) string {
	name = asciiText(name, 25, "Kios Demo")
	city = asciiText(city, 15, "Jakarta")
	h := fnv.New64a()
	h.Write([]byte(name + "\x00" + city))
	n := h.Sum64() % 1e13
	account := qris.Payload{
		{Tag: "00", Value: DemoGUID},
		{Tag: "01", Value: fmt.Sprintf("93600000%010d", n%1e10)},
		{Tag: "02", Value: fmt.Sprintf("KIOS%013d", n)},
		{Tag: "03", Value: "UMI"},
	}
	national := qris.Payload{
		{Tag: "00", Value: "ID.CO.QRIS.WWW"},
		{Tag: "02", Value: fmt.Sprintf("ID%013d", n)},
		{Tag: "03", Value: "UMI"},
	}
	acc, err1 := account.Encode()
	nat, err2 := national.Encode()
	p := qris.Payload{
		{Tag: qris.TagFormat, Value: "01"},
		{Tag: qris.TagInitiation, Value: qris.Static},
		{Tag: "26", Value: acc},
		{Tag: qris.TagQRIS, Value: nat},
		{Tag: qris.TagMCC, Value: "5499"},
		{Tag: qris.TagCurrency, Value: "360"},
		{Tag: qris.TagCountry, Value: "ID"},
		{Tag: qris.TagMerchantName, Value: name},
		{Tag: qris.TagCity, Value: city},
	}
	out, err3 := p.Sign()
	if err := errors.Join(err1, err2, err3); err != nil {
		// Every value above is non-empty and shorter than 100 characters.
		panic("payment: DemoQRIS: " + err.Error())
	}
	return out
}

// asciiText keeps the printable ASCII of s, trimmed and cut to limit
// characters, or returns def when nothing is left.
func asciiText(s string, limit int, def string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= ' ' && r <= '~' {
			b.WriteRune(r)
		}
	}
	out := strings.TrimSpace(b.String())
	if len(out) > limit {
		out = strings.TrimSpace(out[:limit])
	}
	if out == "" {
		return def
	}
	return out
}
