package order

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/password"
	"kios/internal/supplier"
	"kios/internal/supplier/simulator"
)

func TestMain(m *testing.M) {
	password.Cost = 4
	os.Exit(m.Run())
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// world is a catalog with one game ("GAME", form key id) whose product
// GAME-10 costs 900 at sim-a (priority 1) and 950 at sim-b (priority 2) and
// sells at 1000; GAME-DEAR sells at 1000 with sim-a at 900 and sim-b at
// 1200 (dearer than the price); and a member with a balance.
type world struct {
	d      *db.DB
	clk    *clock
	cat    *catalog.Store
	svc    *Service
	simA   *simulator.Simulator
	simB   *simulator.Simulator
	member member.Member
}

func newWorld(t *testing.T, d *db.DB, balance int64, simA simulator.Config) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{d: d, clk: &clock{t: time.Now().UTC()}}
	simA.Now, w.simA = w.clk.Now, nil
	w.simA = simulator.New(simA)
	w.simB = simulator.New(simulator.Config{Now: w.clk.Now})
	w.cat = catalog.NewStore(d, w.clk.Now)
	if _, err := w.cat.AddProvider(ctx, catalog.NewProvider{Code: "GAME", Name: "Game", Active: true,
		Forms: []catalog.Field{{Label: "User ID", Key: "id", Type: catalog.Text}}}); err != nil {
		t.Fatal(err)
	}
	products := []catalog.NewProduct{
		{Code: "GAME-10", Name: "10 Gems", Provider: "GAME", Active: true, Prices: map[string]int64{"reseller": 1000},
			SKUs: []catalog.SKU{{Supplier: "sim-a", SKU: "A10", Cost: 900, Active: true}, {Supplier: "sim-b", SKU: "B10", Cost: 950, Active: true}}},
		{Code: "GAME-DEAR", Name: "Dear Gems", Provider: "GAME", Active: true, Prices: map[string]int64{"reseller": 1000},
			SKUs: []catalog.SKU{{Supplier: "sim-a", SKU: "AD", Cost: 900, Active: true}, {Supplier: "sim-b", SKU: "BD", Cost: 1200, Active: true}}},
	}
	for _, p := range products {
		if _, err := w.cat.AddProduct(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	members := member.NewStore(d, w.clk.Now)
	var err error
	w.member, err = members.Add(ctx, member.NewMember{Username: "budi", Level: "reseller", Password: "rahasia123"})
	if err != nil {
		t.Fatal(err)
	}
	fund(t, d, w.member.AccountID, balance)
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	w.svc = NewService(d, w.cat, supplier.Set{"sim-a": w.simA, "sim-b": w.simB}, w.clk.Now, logger,
		Config{PollBackoff: []time.Duration{time.Second}})
	return w
}

func fund(t *testing.T, d *db.DB, account, amount int64) {
	t.Helper()
	if amount == 0 {
		return
	}
	if err := d.Write(context.Background(), func(tx *db.Tx) error {
		now := time.Now()
		if err := ledger.EnsureSystem(tx, now); err != nil {
			return err
		}
		adj, err := ledger.AccountByCode(tx, ledger.Adjust)
		if err != nil {
			return err
		}
		_, err = ledger.Transfer(tx, "adjustment", "TEST", adj.ID, account, amount, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func req(product, customer, pref string) Request {
	body := map[string]any{"target_product_code": product, "id": customer}
	if pref != "" {
		body["partner_reference"] = pref
	}
	return Request{ProductCode: product, PartnerReference: pref, Form: body, Body: body}
}

// settle runs worker passes, moving the clock past every poll backoff,
// until no job is left or the tries run out.
func (w *world) settle(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for range 20 {
		jobs, err := w.svc.claim(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Add(1)
			go func() { defer wg.Done(); w.svc.work(j) }()
		}
		wg.Wait()
		if n, _ := w.svc.QueueDepth(ctx); n == 0 {
			return
		}
		w.clk.Add(2 * time.Second)
	}
	t.Fatal("orders did not settle")
}

func (w *world) balance(t *testing.T, code string) int64 {
	t.Helper()
	b, err := ledger.Total(context.Background(), w.d, code)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func verify(t *testing.T, d *db.DB) {
	t.Helper()
	r, err := ledger.Verify(context.Background(), d)
	if err != nil || !r.OK() {
		t.Fatalf("ledger: %v\n%s", err, r)
	}
}

func (w *world) get(t *testing.T, ref string) Order {
	t.Helper()
	o, err := w.svc.Get(context.Background(), w.member.ID, ref)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func statuses(t *testing.T, w *world, o Order) []string {
	evs, err := w.svc.Events(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Status+"@"+e.Supplier)
	}
	return out
}

// fulfilmentCases: each creates one order and lets the worker settle it.
var fulfilmentCases = []struct {
	name      string
	product   string
	customer  string
	simADown  bool
	status    string
	supplier  string
	events    string
	memberOut int64 // what the member paid in the end
	revenue   int64
	submitA   int
	submitB   int
}{
	{"success", "GAME-10", "12345678", false, Success, "sim-a", "[processing@ success@sim-a]", 1000, 100, 1, 0},
	{"definite failure, refund", "GAME-DEAR", "12340000", false, Failed, "sim-a", "[processing@ failed@sim-a]", 0, 0, 1, 0},
	{"failover to the second supplier", "GAME-10", "12345678", true, Success, "sim-b", "[processing@ failover@sim-b success@sim-b]", 1000, 50, 1, 1},
	{"no failover to a dearer supplier", "GAME-DEAR", "12345678", true, Failed, "sim-a", "[processing@ failed@sim-a]", 0, 0, 1, 0},
	{"timeout, then polling: one submission", "GAME-10", "12345555", false, Success, "sim-a", "[processing@ pending@sim-a success@sim-a]", 1000, 100, 1, 0},
	{"pending, then success", "GAME-10", "12349999", false, Success, "sim-a", "[processing@ pending@sim-a success@sim-a]", 1000, 100, 1, 0},
}

func TestFulfilment(t *testing.T) {
	for _, c := range fulfilmentCases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				w := newWorld(t, d, 5000, simulator.Config{FailAll: c.simADown, PendingFor: 3 * time.Second})
				o, replayed, err := w.svc.Create(context.Background(), w.member, req(c.product, c.customer, ""))
				if err != nil || replayed || o.Status != Processing || o.Price != 1000 {
					t.Fatalf("create: %+v %v %v", o, replayed, err)
				}
				if got := w.balance(t, ledger.MemberCode(w.member.ID)); got != 4000 {
					t.Fatalf("balance after create %d, want 4000 (charged before fulfilment)", got)
				}
				w.settle(t)
				o = w.get(t, o.Reference)
				if o.Status != c.status || o.Supplier != c.supplier {
					t.Fatalf("order %s at %s, want %s at %s", o.Status, o.Supplier, c.status, c.supplier)
				}
				if got := fmt.Sprint(statuses(t, w, o)); got != c.events {
					t.Errorf("events %s, want %s", got, c.events)
				}
				if c.status == Success && (o.SN == "" || len(o.Note) < 30 || o.Note[:24] != "Transaksi berhasil pada ") {
					t.Errorf("success without SN or note: %q %q", o.SN, o.Note)
				}
				evs, err := w.svc.Events(context.Background(), o.ID)
				if last := evs[len(evs)-1]; err != nil || c.status == Success && (last.Detail != o.SN || !last.At.Equal(o.StatusAt)) {
					t.Errorf("success event %+v, want the SN %q at %s (%v)", last, o.SN, o.StatusAt, err)
				}
				if got := 5000 - w.balance(t, ledger.MemberCode(w.member.ID)); got != c.memberOut {
					t.Errorf("member paid %d, want %d", got, c.memberOut)
				}
				if got := w.balance(t, ledger.Revenue); got != c.revenue {
					t.Errorf("revenue %d, want %d", got, c.revenue)
				}
				if got := w.balance(t, ledger.Inflight); got != 0 {
					t.Errorf("inflight holds %d after settling", got)
				}
				if a, b := w.simA.Submissions(o.Reference), w.simB.Submissions(o.Reference); a != c.submitA || b != c.submitB {
					t.Errorf("submissions sim-a %d sim-b %d, want %d %d", a, b, c.submitA, c.submitB)
				}
				verify(t, d)
			})
		})
	}
}

// TestRestartMidFlight: a worker claimed a job and died. Whether or not its
// submission reached the supplier, the next worker settles the order with
// exactly one submission.
func TestRestartMidFlight(t *testing.T) {
	for _, reached := range []bool{true, false} {
		t.Run(fmt.Sprintf("submission reached the supplier: %v", reached), func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				w := newWorld(t, d, 5000, simulator.Config{})
				o, _, err := w.svc.Create(ctx, w.member, req("GAME-10", "12345678", ""))
				if err != nil {
					t.Fatal(err)
				}
				jobs, err := w.svc.claim(ctx, 10)
				if err != nil || len(jobs) != 1 || jobs[0].phase != "submit" {
					t.Fatalf("claim: %+v %v", jobs, err)
				}
				if reached { // the dead worker's call got through
					w.simA.Submit(ctx, supplier.Order{Reference: o.Reference, Customer: "12345678"})
				}
				// Nobody else may take the job while the lease runs.
				if again, _ := w.svc.claim(ctx, 10); len(again) != 0 {
					t.Fatalf("a leased job was claimed again: %+v", again)
				}
				w.clk.Add(3 * time.Minute) // the lease runs out
				w.settle(t)
				if got := w.get(t, o.Reference); got.Status != Success {
					t.Fatalf("status %s", got.Status)
				}
				if n := w.simA.Submissions(o.Reference); n != 1 {
					t.Fatalf("%d submissions, want exactly 1", n)
				}
				verify(t, d)
			})
		})
	}
}

func TestStuckOrdersAreListed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d, 5000, simulator.Config{PendingFor: 100 * time.Hour})
		o, _, err := w.svc.Create(ctx, w.member, req("GAME-10", "11119999", ""))
		if err != nil {
			t.Fatal(err)
		}
		jobs, _ := w.svc.claim(ctx, 10)
		for _, j := range jobs {
			w.svc.work(j)
		}
		if s, _ := w.svc.Stuck(ctx); len(s) != 0 {
			t.Fatalf("a fresh pending order is listed as stuck: %v", s)
		}
		w.clk.Add(6*time.Hour + time.Minute)
		s, err := w.svc.Stuck(ctx)
		if err != nil || len(s) != 1 || s[0].Reference != o.Reference {
			t.Fatalf("stuck = %v, %v; want the pending order", s, err)
		}
	})
}

// TestConcurrentOrdersAgainstExactBalance: 1,000 orders at once against a
// balance that covers exactly 600.
func TestConcurrentOrdersAgainstExactBalance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d, 600*1000, simulator.Config{})
		var ok, short atomic.Int64
		var wg sync.WaitGroup
		errc := make(chan error, 1000)
		for i := range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := w.svc.Create(ctx, w.member, req("GAME-10", fmt.Sprintf("9%07d", i+1), ""))
				switch fault.CodeOf(err) {
				case "":
					ok.Add(1)
				case fault.Insufficient:
					short.Add(1)
				default:
					errc <- err
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		if ok.Load() != 600 || short.Load() != 400 {
			t.Fatalf("%d accepted, %d refused; want 600 and 400", ok.Load(), short.Load())
		}
		if b := w.balance(t, ledger.MemberCode(w.member.ID)); b != 0 {
			t.Fatalf("balance %d, want 0", b)
		}
		w.settle(t)
		if got := w.balance(t, ledger.Revenue); got != 600*100 {
			t.Fatalf("revenue %d, want %d", got, 600*100)
		}
		verify(t, d)
	})
}

// TestPartnerReference: 20 identical requests at once make one order and
// one charge; a different body with the same key is refused; a repeat is a
// replay.
func TestPartnerReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d, 50_000, simulator.Config{})
		var wg sync.WaitGroup
		refs := make([]string, 20)
		replays := make([]bool, 20)
		errs := make([]error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var o Order
				o, replays[i], errs[i] = w.svc.Create(ctx, w.member, req("GAME-10", "12345678", "INV-1"))
				refs[i] = o.Reference
			}()
		}
		wg.Wait()
		fresh := 0
		for i := range 20 {
			if errs[i] != nil || refs[i] != refs[0] {
				t.Fatalf("request %d: %q %v (first %q)", i, refs[i], errs[i], refs[0])
			}
			if !replays[i] {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("%d requests created an order, want exactly 1", fresh)
		}
		if b := w.balance(t, ledger.MemberCode(w.member.ID)); b != 49_000 {
			t.Fatalf("balance %d, want one charge of 1000", b)
		}
		var n int
		d.QueryRow(ctx, "SELECT COUNT(*) FROM orders").Scan(&n)
		if n != 1 {
			t.Fatalf("%d orders", n)
		}
		_, _, err := w.svc.Create(ctx, w.member, req("GAME-10", "87654321", "INV-1"))
		if fault.CodeOf(err) != fault.Conflict || fault.FieldOf(err) != "partner_reference" {
			t.Fatalf("same key, other body: %v", err)
		}
		// Key order and formatting do not make a body different.
		body := map[string]any{"id": "12345678", "partner_reference": "INV-1", "target_product_code": "GAME-10"}
		raw, _ := json.Marshal(body)
		var again map[string]any
		json.Unmarshal(raw, &again)
		o, replayed, err := w.svc.Create(ctx, w.member, Request{ProductCode: "GAME-10", PartnerReference: "INV-1", Form: again, Body: again})
		if err != nil || !replayed || o.Reference != refs[0] {
			t.Fatalf("replay: %v %v %v", o.Reference, replayed, err)
		}
		// After the window the key is free again.
		w.clk.Add(24*time.Hour + time.Second)
		o2, replayed, err := w.svc.Create(ctx, w.member, req("GAME-10", "87654321", "INV-1"))
		if err != nil || replayed || o2.Reference == refs[0] {
			t.Fatalf("after 24 h: %v %v %v", o2.Reference, replayed, err)
		}
		w.settle(t)
		verify(t, d)
	})
}

func TestCreateRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d, 500, simulator.Config{})
		cases := []struct {
			r     Request
			code  fault.Code
			field string
		}{
			{req("", "1", ""), fault.Missing, "target_product_code"},
			{req("NOPE", "1", ""), fault.NotFound, ""},
			{req("GAME-10", "", ""), fault.Missing, "id"},
			{req("GAME-10", "12345678", ""), fault.Insufficient, ""},
		}
		for _, c := range cases {
			_, _, err := w.svc.Create(ctx, w.member, c.r)
			if fault.CodeOf(err) != c.code || (c.field != "" && fault.FieldOf(err) != c.field) {
				t.Errorf("%+v: %v, want %s %s", c.r.Body, err, c.code, c.field)
			}
		}
		if err := w.cat.SetProductActive(ctx, "GAME-10", false); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.svc.Create(ctx, w.member, req("GAME-10", "12345678", "")); fault.CodeOf(err) != fault.Inactive {
			t.Errorf("inactive product: %v", err)
		}
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM orders").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("refused requests left %d orders", n)
		}
		verify(t, d)
	})
}
