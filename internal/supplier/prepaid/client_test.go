package prepaid_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/demo"
	"kios/internal/funding"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/order"
	"kios/internal/password"
	"kios/internal/ratelimit"
	"kios/internal/server"
	"kios/internal/supplier"
	"kios/internal/supplier/prepaid"
	"kios/internal/supplier/simulator"
)

func TestMain(m *testing.M) {
	password.Cost = 4
	os.Exit(m.Run())
}

// upstream is a real kios serving the prepaid face on loopback, with the
// demo catalog and member, fulfilling through the simulator.
type upstream struct {
	url    string
	info   demo.Info
	orders *order.Service
	sim    *simulator.Simulator
}

func startUpstream(t *testing.T, d *db.DB) *upstream {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	if err := d.Write(ctx, func(tx *db.Tx) error { return ledger.EnsureSystem(tx, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	members := member.NewStore(d, time.Now)
	cat := catalog.NewStore(d, time.Now)
	info, err := demo.Ensure(ctx, demo.Deps{DB: d, Members: members, Operators: operator.NewStore(d, time.Now), Catalog: cat, Now: time.Now},
		filepath.Join(t.TempDir(), "demo.json"), "http://upstream")
	if err != nil {
		t.Fatal(err)
	}
	funds := funding.New(d, funding.Options{Now: time.Now, Logger: logger})
	if err := funds.Prepare(ctx, funding.DemoBanks()); err != nil {
		t.Fatal(err)
	}
	sim := simulator.New(simulator.Config{PendingFor: 200 * time.Millisecond})
	orders := order.NewService(d, cat, supplier.Set{"simulator": sim, "simulator-b": simulator.New(simulator.Config{})}, time.Now, logger,
		order.Config{PollBackoff: []time.Duration{20 * time.Millisecond}})
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { orders.Run(wctx); close(done) }()
	srv := httptest.NewServer(server.New(server.Deps{
		Logger: logger, DB: d, Members: members, Limiter: ratelimit.New(1000, 1000, time.Now), Metrics: server.NewMetrics(),
		Now: time.Now, BaseURL: "http://upstream", Catalog: cat, Funding: funds, Orders: orders,
	}))
	t.Cleanup(func() { srv.Close(); stop(); <-done })
	return &upstream{url: srv.URL, info: info, orders: orders, sim: sim}
}

func (u *upstream) config(signed bool) prepaid.Config {
	return prepaid.Config{Name: "upstream", BaseURL: u.url, APIKey: u.info.APIKey, SecretKey: u.info.SecretKey, SignedForm: signed}
}

// settle polls Status until the answer is no longer pending.
func settle(t *testing.T, c *prepaid.Client, ref string) supplier.Result {
	t.Helper()
	for range 200 {
		res, err := c.Status(context.Background(), ref)
		if err != nil {
			t.Fatalf("status %s: %v", ref, err)
		}
		if res.Outcome != supplier.Pending {
			return res
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s stayed pending", ref)
	return supplier.Result{}
}

func mlbb(ref, id string) supplier.Order {
	return supplier.Order{Reference: ref, SKU: "MLBB-BJ-V3-ALLMLBB_ID_5", Customer: id, Form: map[string]string{"id": id, "server": "1234"}}
}

// TestClientAgainstKios places orders with a real kios through the
// client, in both signature forms, and checks every outcome the client can
// map from the wire: delivered with an SN, failed, refused at once,
// unknown to the upstream; and that submitting again never orders twice.
func TestClientAgainstKios(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		up := startUpstream(t, d)
		refs := prepaid.NewReferences(d, time.Now)
		for _, signed := range []bool{false, true} {
			c := prepaid.New(up.config(signed), refs, nil, nil)
			tag := "PLAIN"
			if signed {
				tag = "SIGNED"
			}

			// Delivered: accepted as pending, then success with an SN.
			ref := "OURS-OK-" + tag
			res, err := c.Submit(ctx, mlbb(ref, "1122334455"))
			if err != nil || res.Outcome != supplier.Pending {
				t.Fatalf("submit: %+v %v", res, err)
			}
			theirs, ok, err := refs.Theirs(ctx, "upstream", ref)
			if err != nil || !ok || !strings.HasPrefix(theirs, "TRX") {
				t.Fatalf("upstream reference not recorded: %q %v %v", theirs, ok, err)
			}
			if got := settle(t, c, ref); got.Outcome != supplier.Success || got.SN == "" || got.SN == "N/A" {
				t.Fatalf("settled: %+v", got)
			}
			o, err := up.orders.ByReference(ctx, theirs)
			if err != nil || o.PartnerReference != ref || o.Status != order.Success {
				t.Fatalf("upstream order: %+v %v", o, err)
			}
			// Again: the upstream answers with the same order, no new one.
			res, err = c.Submit(ctx, mlbb(ref, "1122334455"))
			if err != nil || res.Outcome != supplier.Success {
				t.Fatalf("second submit: %+v %v", res, err)
			}
			if n := up.sim.Submissions(theirs); n != 1 {
				t.Fatalf("the upstream's supplier got %d submissions, want 1", n)
			}

			// Failed at the upstream's supplier (a customer ending in 0000
			// fails on both of its simulators).
			ref = "OURS-FAIL-" + tag
			if res, err := c.Submit(ctx, mlbb(ref, "1230000")); err != nil || res.Outcome != supplier.Pending {
				t.Fatalf("submit: %+v %v", res, err)
			}
			if got := settle(t, c, ref); got.Outcome != supplier.Failed {
				t.Fatalf("settled: %+v", got)
			}

			// Refused at once: a definite failure, with the upstream's words.
			for _, tc := range []struct {
				o    supplier.Order
				want string
			}{
				{supplier.Order{Reference: "OURS-NOPE-" + tag, SKU: "NO-SUCH-SKU", Form: map[string]string{"id": "1"}}, "Produk tidak ditemukan"},
				{supplier.Order{Reference: "OURS-OFF-" + tag, SKU: "MLBB-BJ-V3-ALLMLBB_TP", Form: map[string]string{"id": "1", "server": "2"}}, "Produk sedang tidak aktif"},
				{supplier.Order{Reference: "OURS-FORM-" + tag, SKU: "MLBB-BJ-V3-ALLMLBB_ID_5", Form: map[string]string{"id": "1"}}, "Kolom Zone ID wajib diisi"},
			} {
				res, err := c.Submit(ctx, tc.o)
				if err != nil || res.Outcome != supplier.Failed || res.Message != tc.want {
					t.Fatalf("%s: %+v %v, want failed %q", tc.o.Reference, res, err, tc.want)
				}
			}

			// Never given: not found, so the worker may submit it.
			if res, err := c.Status(ctx, "OURS-NEVER-"+tag); err != nil || res.Outcome != supplier.NotFound {
				t.Fatalf("status of an unknown reference: %+v %v", res, err)
			}
		}

		// Wrong keys: refused before anything is recorded, a definite failure.
		bad := up.config(false)
		bad.SecretKey = "not-the-secret"
		if res, err := prepaid.New(bad, refs, nil, nil).Submit(ctx, mlbb("OURS-BADKEY", "1122334455")); err != nil || res.Outcome != supplier.Failed || res.Message != "Invalid signature" {
			t.Fatalf("wrong secret: %+v %v", res, err)
		}
		if _, err := up.orders.GetByPartnerReference(ctx, 0, "OURS-BADKEY"); err == nil {
			t.Fatal("an order was recorded with a wrong secret")
		}
		if r, err := ledger.Verify(ctx, d); err != nil || !r.OK() {
			t.Fatalf("ledger: %v %v", r, err)
		}
	})
}

// TestClientUnknownOutcomes: answers that say nothing definite (5xx, a
// rate limit, a timeout, a reset connection, a body that is not the wire
// format, a duplicate partner_reference) are errors wrapping ErrUnknown,
// never a failure: the worker must ask again, not resubmit elsewhere.
func TestClientUnknownOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, `{"status":500,"message":"Terjadi kesalahan"}`)
		}},
		{"502 html", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			io.WriteString(w, "<html>bad gateway</html>")
		}},
		{"429", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(429)
			io.WriteString(w, `{"status":429,"message":"Terlalu banyak","error":"rate_limited"}`)
		}},
		{"200 not json", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") }},
		{"duplicate", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			io.WriteString(w, `{"status":400,"message":"partner_reference sudah digunakan","error":"duplicate_partner_reference"}`)
		}},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body) // so that the server notices the client going away
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}},
		{"reset", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c := prepaid.New(prepaid.Config{Name: "up", BaseURL: srv.URL, APIKey: "sekrit-key-123", SecretKey: "sekrit-secret-456"}, nil, nil, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			res, err := c.Submit(ctx, mlbb("OURS-1", "1"))
			cancel()
			if !errors.Is(err, prepaid.ErrUnknown) {
				t.Fatalf("submit: %+v %v, want ErrUnknown", res, err)
			}
			if strings.Contains(err.Error(), "sekrit") {
				t.Fatalf("error shows the key: %v", err)
			}
			if tc.name == "duplicate" {
				return
			}
			ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			if res, err := c.Status(ctx, "OURS-1"); !errors.Is(err, prepaid.ErrUnknown) {
				t.Fatalf("status: %+v %v, want ErrUnknown", res, err)
			}
		})
	}
}

// TestCatalogFromKios lists a real kios's catalog: providers with their
// forms, products with the caller's price as cost.
func TestCatalogFromKios(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		up := startUpstream(t, d)
		provs, err := prepaid.New(up.config(false), nil, nil, nil).Catalog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var ml *catalog.ImportProvider
		for i := range provs {
			if provs[i].Code == "MLBB-BJ-V3-ALL" {
				ml = &provs[i]
			}
		}
		if ml == nil || ml.Name != "Mobile Legends" || !ml.Active || ml.Icon != "mlbb.png" || len(ml.Forms) != 2 || ml.Forms[1].Label != "Zone ID" {
			t.Fatalf("provider: %+v", ml)
		}
		found := false
		for _, p := range ml.Products {
			if p.Code == "MLBB-BJ-V3-ALLMLBB_ID_5" {
				found = true
				// The demo member is a reseller: the explicit reseller price.
				if p.Cost != 1_425 || !p.Active || p.Name != "5 Diamonds" {
					t.Fatalf("product: %+v", p)
				}
			}
		}
		if !found {
			t.Fatalf("MLBB 5 missing from %+v", ml.Products)
		}
	})
}
