package order

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/supplier"
	"kios/internal/supplier/simulator"
)

// The crash test of order creation runs a child process, this test binary
// again, that creates orders through Service.Create from many goroutines
// for several members (so that, on PostgreSQL, orders share batched
// statements) and prints the reference and partner_reference of every
// order Create returned. The parent kills it with SIGKILL while orders are
// in flight, twice, and then checks that every acknowledged order is
// there with its charge, its job and its key, that no order was written
// without its charge or the other way round, and that the ledger is sound.

const (
	orderCrashEnv     = "KIOS_ORDER_CRASH_CHILD_DSN" // set only in the child
	orderCrashMembers = 12
	orderCrashWriters = 48
	orderCrashAcks    = 300 // acknowledged orders to wait for before each kill
	orderCrashFunds   = 1_000_000_000
)

// orderAck is one order the child reported as created.
type orderAck struct{ ref, pref string }

// TestCrashKeepsAcknowledgedOrders kills a process creating orders twice
// and checks that no acknowledged order was lost or half written.
func TestCrashKeepsAcknowledgedOrders(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			dsn := dbtest.DSN(t, target)
			if dsn == "" {
				t.Skip("KIOS_TEST_POSTGRES_URL is not set")
			}
			var acks []orderAck
			for round := range 2 {
				got := runOrderCrashChild(t, dsn, round)
				t.Logf("round %d: %d orders acknowledged before SIGKILL", round, len(got))
				acks = append(acks, got...)
			}
			d := dbtest.Open(t, dsn)
			checkOrders(t, d, acks)
			verify(t, d)
		})
	}
}

// checkOrders asserts that every acknowledged order is processing with its
// job and its partner_reference's key, and that every order in the
// database, acknowledged or not, has exactly its charge: one entry of its
// reference moving its price from its member to the stripe it names, and
// every member's balance is its funds less its orders' prices.
func checkOrders(t *testing.T, d *db.DB, acks []orderAck) {
	t.Helper()
	ctx := context.Background()
	type row struct {
		id, member, account, price, inflight int64
		pref, status                         string
		job                                  bool
		key                                  string
	}
	type leg struct{ account, amount int64 }
	orders := map[string]row{}
	charges := map[string][]leg{}
	balances := map[int64]int64{}
	// One snapshot: a statement the killed child had sent may still commit
	// while this reads, and must be seen whole or not at all.
	err := d.Read(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(`SELECT o.reference, o.id, o.member_id, m.account_id, o.price, o.inflight, o.partner_reference, o.status,
				(SELECT COUNT(*) FROM fulfilment_jobs j WHERE j.order_id = o.id),
				COALESCE((SELECT k.reference FROM idempotency_keys k WHERE k.member_id = o.member_id AND k.scope = 'order'
					AND k.idem_key = o.partner_reference), '')
			FROM orders o JOIN members m ON m.id = o.member_id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var ref string
			var r row
			var jobs int
			if err := rows.Scan(&ref, &r.id, &r.member, &r.account, &r.price, &r.inflight, &r.pref, &r.status, &jobs, &r.key); err != nil {
				return err
			}
			r.job = jobs == 1
			orders[ref] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(`SELECT e.reference, p.account_id, p.amount FROM entries e JOIN postings p ON p.entry_id = e.id
			WHERE e.kind = 'order' ORDER BY e.id, p.amount`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var ref string
			var l leg
			if err := rows.Scan(&ref, &l.account, &l.amount); err != nil {
				return err
			}
			charges[ref] = append(charges[ref], l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query("SELECT id, balance FROM accounts WHERE kind = 'member'")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, b int64
			if err := rows.Scan(&id, &b); err != nil {
				return err
			}
			balances[id] = b
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	fail := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for _, a := range acks {
		o, ok := orders[a.ref]
		switch {
		case !ok:
			fail("acknowledged order %s is gone", a.ref)
		case o.status != Processing || !o.job || o.pref != a.pref || o.key != a.ref:
			fail("acknowledged order %s: status %s, job %v, partner_reference %q (sent %q), key names %q", a.ref, o.status, o.job, o.pref, a.pref, o.key)
		}
	}
	spent := map[int64]int64{}
	for ref, o := range orders {
		want := []leg{{o.account, -o.price}, {o.inflight, o.price}}
		if got := charges[ref]; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			fail("order %s: charge %v, want %v", ref, got, want)
		}
		spent[o.account] += o.price
	}
	for ref := range charges {
		if _, ok := orders[ref]; !ok {
			fail("a charge for %s, which is no order", ref)
		}
	}
	for account, sum := range spent {
		if b := balances[account]; b != orderCrashFunds-sum {
			fail("account %d holds %d, want %d less its orders' %d", account, b, orderCrashFunds, sum)
		}
	}
	if bad > 0 {
		t.Fatalf("%d problems among %d orders (%d acknowledged)", bad, len(orders), len(acks))
	}
}

// runOrderCrashChild starts the child on dsn, kills it with SIGKILL once it
// has acknowledged orderCrashAcks orders, and returns every acknowledgement
// it printed before it died.
func runOrderCrashChild(t *testing.T, dsn string, round int) []orderAck {
	t.Helper()
	var acks []orderAck
	for _, line := range dbtest.KillChild(t, "TestOrderCrashHelperProcess", []string{orderCrashEnv + "=" + dsn}, orderCrashAcks) {
		var a orderAck
		if _, err := fmt.Sscanf(line, "ack %s %s", &a.ref, &a.pref); err != nil {
			t.Fatalf("round %d: unexpected child output %q", round, line)
		}
		acks = append(acks, a)
	}
	return acks
}

// TestOrderCrashHelperProcess is the child of
// TestCrashKeepsAcknowledgedOrders; it does nothing unless started by it.
// It never returns: it creates orders until it is killed.
func TestOrderCrashHelperProcess(t *testing.T) {
	dsn := os.Getenv(orderCrashEnv)
	if dsn == "" {
		t.Skip("the child process of TestCrashKeepsAcknowledgedOrders")
	}
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "order crash child: "+format+"\n", args...)
		os.Exit(2)
	}
	go func() { // the parent is gone: stop
		io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn, db.Options{MaxConns: 8})
	if err != nil {
		fail("open: %v", err)
	}
	if _, err := d.Migrate(ctx); err != nil {
		fail("migrate: %v", err)
	}
	cat := catalog.NewStore(d, time.Now)
	if _, err := cat.Product(ctx, "GAME-10", "reseller"); err != nil { // the first round sets up
		if _, err := cat.AddProvider(ctx, catalog.NewProvider{Code: "GAME", Name: "Game", Active: true,
			Forms: []catalog.Field{{Label: "User ID", Key: "id", Type: catalog.Text}}}); err != nil {
			fail("provider: %v", err)
		}
		if _, err := cat.AddProduct(ctx, catalog.NewProduct{Code: "GAME-10", Name: "10 Gems", Provider: "GAME", Active: true,
			Prices: map[string]int64{"reseller": 1000},
			SKUs:   []catalog.SKU{{Supplier: "sim", SKU: "A10", Cost: 900, Active: true}}}); err != nil {
			fail("product: %v", err)
		}
	}
	store := member.NewStore(d, time.Now)
	members := make([]member.Member, orderCrashMembers)
	for i := range members {
		name := fmt.Sprintf("crash%02d", i)
		m, err := store.ByUsername(ctx, name)
		if err != nil {
			if m, err = store.Add(ctx, member.NewMember{Username: name, Level: "reseller", Password: "rahasia123"}); err != nil {
				fail("member: %v", err)
			}
			if err := d.Write(ctx, func(tx *db.Tx) error {
				if err := ledger.EnsureSystem(tx, time.Now()); err != nil {
					return err
				}
				adj, err := ledger.AccountByCode(tx, ledger.Adjust)
				if err != nil {
					return err
				}
				_, err = ledger.Transfer(tx, "adjustment", "CRASH", adj.ID, m.AccountID, orderCrashFunds, time.Now())
				return err
			}); err != nil {
				fail("fund: %v", err)
			}
		}
		members[i] = m
	}
	svc := NewService(d, cat, supplier.Set{"sim": simulator.New(simulator.Config{})}, time.Now,
		slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
	var wg sync.WaitGroup
	for w := range orderCrashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := members[w%len(members)]
			buf := make([]byte, 0, 96)
			for n := 0; ; n++ {
				pref := fmt.Sprintf("P%d-%d-%d", os.Getpid(), w, n)
				o, replayed, err := svc.Create(ctx, m, req("GAME-10", "12345678", pref))
				switch {
				case err == nil && !replayed:
					// One write(2) per line: the parent has it the moment
					// it is printed.
					buf = fmt.Appendf(buf[:0], "ack %s %s\n", o.Reference, pref)
					if _, err := os.Stdout.Write(buf); err != nil {
						fail("stdout: %v", err)
					}
				case err == nil:
					fail("a fresh partner_reference %s was replayed", pref)
				case fault.CodeOf(err) == fault.Insufficient, errors.Is(err, context.Canceled):
				default:
					fail("create: %v", err)
				}
			}
		}()
	}
	wg.Wait()
}
