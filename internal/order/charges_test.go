package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/reference"
	"kios/internal/supplier/simulator"
)

// batchOnlyPostgres skips the SQLite half of a test of the batched
// charges.
func batchOnlyPostgres(t *testing.T, d *db.DB) {
	t.Helper()
	if d.Dialect() != db.Postgres {
		t.Skip("SQLite has no batched charges: there orders are written by the transaction")
	}
}

// addMember creates a reseller named username with balance.
func (w *world) addMember(t *testing.T, username string, balance int64) member.Member {
	t.Helper()
	m, err := member.NewStore(w.d, w.clk.Now).Add(context.Background(),
		member.NewMember{Username: username, Level: "reseller", Password: "rahasia123"})
	if err != nil {
		t.Fatal(err)
	}
	fund(t, w.d, m.AccountID, balance)
	return m
}

// pendingFor is the pendingCharge Create queues for m's order of GAME-10
// for customer, with the idempotency key key ("" for none).
func (w *world) pendingFor(t *testing.T, m member.Member, customer, key string) *pendingCharge {
	t.Helper()
	ctx := context.Background()
	r := req("GAME-10", customer, key)
	p, err := w.cat.Product(ctx, r.ProductCode, m.Level)
	if err != nil {
		t.Fatal(err)
	}
	form, err := p.Provider.ValidateForm(r.Form)
	if err != nil {
		t.Fatal(err)
	}
	sku, attempt, ok := nextSKU(p.SKUs, 0, p.Price)
	if !ok {
		t.Fatal("GAME-10 has no SKU at its price")
	}
	formJSON, _ := json.Marshal(form)
	now := w.clk.Now()
	o := Order{
		Reference: reference.New(w.svc.cfg.Prefix, now), PartnerReference: key, MemberID: m.ID,
		ProductCode: p.Code, ProductName: p.Name, ProviderName: p.Provider.Name, Customer: form[p.Provider.Forms[0].Key],
		Price: p.Price, Status: Processing, CreatedAt: micro(now), StatusAt: micro(now), ExpiredAt: micro(now.Add(w.svc.cfg.Lifetime)),
	}
	return &pendingCharge{m: m, o: o, form: string(formJSON), sku: sku, attempt: attempt, now: now,
		idemKey: key, hash: requestHash(r.Body)}
}

// storedOrder is an order row as the batch wrote it, with its job.
type storedOrder struct {
	id, member, price, inflight int64
	status                      string
	phase, supplier, sku        string
	cost, attempt               int64
}

// orderRow reads the order with reference and its fulfilment job; ok is
// false when there is no such order.
func orderRow(t *testing.T, d *db.DB, ref string) (o storedOrder, ok bool) {
	t.Helper()
	err := d.QueryRow(context.Background(), `SELECT o.id, o.member_id, o.price, o.inflight, o.status,
		j.phase, j.supplier, j.sku, j.cost, j.attempt
		FROM orders o JOIN fulfilment_jobs j ON j.order_id = o.id WHERE o.reference = ?`, ref).
		Scan(&o.id, &o.member, &o.price, &o.inflight, &o.status, &o.phase, &o.supplier, &o.sku, &o.cost, &o.attempt)
	if errors.Is(err, db.ErrNotFound) {
		return o, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return o, true
}

// countWhere returns SELECT COUNT(*) FROM table WHERE cond.
func countWhere(t *testing.T, d *db.DB, table, cond string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table+" WHERE "+cond, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// requireWritten checks that p's order was written by the batch: answered
// gated with the order's id and its stripe, the order processing at the
// price with that stripe recorded, its job at sim-a's SKU, its charge one
// entry of the order's reference, and the stripe an inflight stripe.
func requireWritten(t *testing.T, w *world, name string, p *pendingCharge) {
	t.Helper()
	if !p.gated || p.err != nil || p.alone || p.id == 0 || p.inflight == 0 {
		t.Fatalf("%s: gated %v err %v alone %v id %d inflight %d; want written", name, p.gated, p.err, p.alone, p.id, p.inflight)
	}
	o, ok := orderRow(t, w.d, p.o.Reference)
	if !ok {
		t.Fatalf("%s: no order %s", name, p.o.Reference)
	}
	if o.id != p.id || o.member != p.m.ID || o.status != Processing || o.price != 1000 || o.inflight != p.inflight {
		t.Fatalf("%s: order %+v; want id %d, member %d, processing at 1000, inflight %d", name, o, p.id, p.m.ID, p.inflight)
	}
	if o.phase != "submit" || o.supplier != "sim-a" || o.sku != "A10" || o.cost != 900 || o.attempt != 1 {
		t.Fatalf("%s: job %+v; want submit to sim-a A10 at 900, attempt 1", name, o)
	}
	if n := countWhere(t, w.d, "entries", "kind = 'order' AND reference = ?", p.o.Reference); n != 1 {
		t.Fatalf("%s: %d order entries for %s, want 1", name, n, p.o.Reference)
	}
	var code string
	if err := w.d.QueryRow(context.Background(), "SELECT code FROM accounts WHERE id = ?", p.inflight).Scan(&code); err != nil ||
		!strings.HasPrefix(code, ledger.Inflight+"/") {
		t.Fatalf("%s: credited account %d is %q (%v), not an inflight stripe", name, p.inflight, code, err)
	}
}

// requireNothingFor checks that p left no order, no charge and no key.
func requireNothingFor(t *testing.T, w *world, name string, p *pendingCharge) {
	t.Helper()
	if _, ok := orderRow(t, w.d, p.o.Reference); ok {
		t.Fatalf("%s: an order %s was written", name, p.o.Reference)
	}
	if n := countWhere(t, w.d, "entries", "reference = ?", p.o.Reference); n != 0 {
		t.Fatalf("%s: %d entries for %s", name, n, p.o.Reference)
	}
	if n := countWhere(t, w.d, "idempotency_keys", "reference = ?", p.o.Reference); n != 0 {
		t.Fatalf("%s: a key names %s", name, p.o.Reference)
	}
}

// TestWriteChargeBatchMixed proves that writeChargeBatch answers each
// order of a batch on its own: a funded order without a key (A) and one
// with a new key (D) are written (order, job, charge, and D's key naming
// its order), each from a distinct inflight stripe; an unfunded order
// without a key (B) is refused with ErrInsufficientFunds; a funded order
// whose key an earlier order holds (C) and an unfunded one with a key (E)
// are left to the transaction (not gated, no error, not alone), and none
// of B, C, E writes an order, a charge or a key. The written orders then
// settle and the ledger verifies.
func TestWriteChargeBatchMixed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		batchOnlyPostgres(t, d)
		ctx := context.Background()
		w := newWorld(t, d, 5000, simulator.Config{})
		ma := w.member
		mb := w.addMember(t, "member-b", 500)
		mc := w.addMember(t, "member-c", 2000)
		md := w.addMember(t, "member-d", 1000)
		me := w.addMember(t, "member-e", 999)

		earlier, replayed, err := w.svc.Create(ctx, mc, req("GAME-10", "33331234", "KEY-C"))
		if err != nil || replayed {
			t.Fatalf("C's earlier order: %v %v", replayed, err)
		}
		ordersBefore := countWhere(t, d, "orders", "TRUE")

		a := w.pendingFor(t, ma, "11112222", "")
		b := w.pendingFor(t, mb, "22221234", "")
		c := w.pendingFor(t, mc, "33331234", "KEY-C") // the same request again
		dd := w.pendingFor(t, md, "44441234", "KEY-D")
		e := w.pendingFor(t, me, "55551234", "KEY-E")
		w.svc.writeChargeBatch(ctx, []*pendingCharge{a, b, c, dd, e})

		requireWritten(t, w, "A", a)
		requireWritten(t, w, "D", dd)
		if a.inflight == dd.inflight {
			t.Fatalf("A and D both credited stripe %d", a.inflight)
		}
		var keyRef, keyHash string
		if err := d.QueryRow(ctx, `SELECT reference, request_hash FROM idempotency_keys
			WHERE member_id = ? AND scope = 'order' AND idem_key = 'KEY-D'`, md.ID).Scan(&keyRef, &keyHash); err != nil {
			t.Fatalf("D's key: %v", err)
		}
		if keyRef != dd.o.Reference || keyHash != dd.hash {
			t.Fatalf("D's key names %s (hash %s), want %s (hash %s)", keyRef, keyHash, dd.o.Reference, dd.hash)
		}

		if !errors.Is(b.err, ledger.ErrInsufficientFunds) || b.gated || b.alone || b.id != 0 {
			t.Fatalf("B: err %v gated %v alone %v id %d; want ErrInsufficientFunds", b.err, b.gated, b.alone, b.id)
		}
		requireNothingFor(t, w, "B", b)

		for _, x := range []struct {
			name string
			p    *pendingCharge
		}{{"C", c}, {"E", e}} {
			if x.p.err != nil || x.p.gated || x.p.alone || x.p.id != 0 {
				t.Fatalf("%s: err %v gated %v alone %v id %d; want left to the transaction", x.name, x.p.err, x.p.gated, x.p.alone, x.p.id)
			}
			requireNothingFor(t, w, x.name, x.p)
		}
		if err := d.QueryRow(ctx, `SELECT reference FROM idempotency_keys
			WHERE member_id = ? AND scope = 'order' AND idem_key = 'KEY-C'`, mc.ID).Scan(&keyRef); err != nil || keyRef != earlier.Reference {
			t.Fatalf("C's key names %q (%v), want the earlier order %s", keyRef, err, earlier.Reference)
		}
		if n := countWhere(t, d, "idempotency_keys", "member_id = ?", me.ID); n != 0 {
			t.Fatalf("E's unfunded order wrote %d keys", n)
		}
		if n := countWhere(t, d, "orders", "TRUE"); n != ordersBefore+2 {
			t.Fatalf("%d orders, want %d (A's and D's more)", n, ordersBefore+2)
		}
		if got := w.balance(t, ledger.Inflight); got != 3000 {
			t.Fatalf("inflight holds %d, want 3000 (C's earlier order, A's and D's)", got)
		}
		for _, x := range []struct {
			name string
			m    member.Member
			want int64
		}{{"A", ma, 4000}, {"B", mb, 500}, {"C", mc, 1000}, {"D", md, 0}, {"E", me, 999}} {
			if got := w.balance(t, ledger.MemberCode(x.m.ID)); got != x.want {
				t.Errorf("%s's balance %d, want %d", x.name, got, x.want)
			}
		}
		verify(t, d)

		w.settle(t)
		for _, x := range []struct {
			name string
			p    *pendingCharge
		}{{"A", a}, {"D", dd}} {
			o, err := w.svc.Get(ctx, x.p.m.ID, x.p.o.Reference)
			if err != nil || o.Status != Success {
				t.Fatalf("%s's order after settling: %s (%v), want success", x.name, o.Status, err)
			}
		}
		if got := w.balance(t, ledger.Inflight); got != 0 {
			t.Fatalf("inflight holds %d after settling", got)
		}
		if got := w.balance(t, ledger.Revenue); got != 300 {
			t.Fatalf("revenue %d, want 300 (three orders at 100)", got)
		}
		verify(t, d)
	})
}

// TestWriteChargeBatchOfOne proves that a batch of a single order is
// written as any other (ledger.WriteCharges): gated, with the order's id and the
// stripe it recorded, its job and its charge; it then settles.
func TestWriteChargeBatchOfOne(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		batchOnlyPostgres(t, d)
		ctx := context.Background()
		w := newWorld(t, d, 5000, simulator.Config{})
		p := w.pendingFor(t, w.member, "12345678", "")
		w.svc.writeChargeBatch(ctx, []*pendingCharge{p})
		requireWritten(t, w, "the one order", p)
		if got := w.balance(t, ledger.MemberCode(w.member.ID)); got != 4000 {
			t.Fatalf("balance %d, want 4000", got)
		}
		w.settle(t)
		if got := w.get(t, p.o.Reference); got.Status != Success {
			t.Fatalf("status %s, want success", got.Status)
		}
		verify(t, d)
	})
}

// TestCreateConcurrentBatched proves that orders created at once, which
// the writers batch together, charge exactly what each balance pays for:
// 40 concurrent Creates, 5 from each of 8 members whose balances cover 3,
// make exactly 24 orders (3 per member) and 16 Insufficient refusals,
// every balance ends at 0, and all 24 settle with the ledger sound.
func TestCreateConcurrentBatched(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		batchOnlyPostgres(t, d)
		ctx := context.Background()
		const members, each, covers = 8, 5, 3
		w := newWorld(t, d, covers*1000, simulator.Config{})
		ms := []member.Member{w.member}
		for i := 1; i < members; i++ {
			ms = append(ms, w.addMember(t, fmt.Sprintf("member-%d", i), covers*1000))
		}
		var (
			mu     sync.Mutex
			ok     = map[int64]int{}
			short  int
			others []error
			wg     sync.WaitGroup
		)
		for i := range members * each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := ms[i%members]
				o, replayed, err := w.svc.Create(ctx, m, req("GAME-10", fmt.Sprintf("7%03d1234", i), ""))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && !replayed && o.MemberID == m.ID:
					ok[m.ID]++
				case fault.CodeOf(err) == fault.Insufficient:
					short++
				default:
					others = append(others, fmt.Errorf("order %d: %+v replayed %v err %v", i, o, replayed, err))
				}
			}()
		}
		wg.Wait()
		if len(others) > 0 {
			t.Fatalf("%d unexpected results, e.g. %v", len(others), others[0])
		}
		if short != members*(each-covers) {
			t.Errorf("%d refused, want %d", short, members*(each-covers))
		}
		for i, m := range ms {
			if ok[m.ID] != covers {
				t.Errorf("member %d: %d orders accepted, want %d", i, ok[m.ID], covers)
			}
			if n := countWhere(t, d, "orders", "member_id = ?", m.ID); n != covers {
				t.Errorf("member %d: %d orders stored, want %d", i, n, covers)
			}
			if b := w.balance(t, ledger.MemberCode(m.ID)); b != 0 {
				t.Errorf("member %d: balance %d, want 0", i, b)
			}
		}
		if n := countWhere(t, d, "orders", "TRUE"); n != members*covers {
			t.Fatalf("%d orders, want %d", n, members*covers)
		}
		w.settle(t)
		if n := countWhere(t, d, "orders", "status = ?", Success); n != members*covers {
			t.Fatalf("%d orders settled to success, want %d", n, members*covers)
		}
		if got := w.balance(t, ledger.Inflight); got != 0 {
			t.Fatalf("inflight holds %d after settling", got)
		}
		verify(t, d)
	})
}
