package demo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/payment"
	"kios/internal/qris"
)

// TestEnsureStore: the demo makes one sandbox store with a valid static
// QRIS of its own, records its id, and reuses it on the next run.
func TestEnsureStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		stores := payment.NewStores(d, nil)
		deps := Deps{DB: d, Members: member.NewStore(d, nil), Operators: operator.NewStore(d, nil), Stores: stores, Now: time.Now}
		path := filepath.Join(t.TempDir(), "demo.json")
		info, err := Ensure(ctx, deps, path, "http://127.0.0.1:8080")
		if err != nil {
			t.Fatal(err)
		}
		st, err := stores.Get(ctx, info.StoreID)
		if err != nil {
			t.Fatalf("store_id %d: %v", info.StoreID, err)
		}
		m, _ := deps.Members.ByUsername(ctx, Username)
		if st.MemberID != m.ID || st.Name != StoreName || !st.Sandbox || !st.Active {
			t.Fatalf("demo store: %+v", st)
		}
		if err := qris.Validate(st.StaticQRIS); err != nil {
			t.Fatalf("demo store's QRIS: %v", err)
		}
		if p, _ := qris.Parse(st.StaticQRIS); !p.IsStatic() {
			t.Fatalf("demo store's QRIS is not static: %s", st.StaticQRIS)
		}

		again, err := Ensure(ctx, deps, path, "http://127.0.0.1:8080")
		if err != nil {
			t.Fatal(err)
		}
		if list, _ := stores.ForMember(ctx, m.ID); again.StoreID != info.StoreID || len(list) != 1 {
			t.Fatalf("second run: store %d (was %d), %d stores", again.StoreID, info.StoreID, len(list))
		}

		// The first store is reused even when switched off: that is an
		// operator's decision, not something the demo undoes.
		if err := stores.SetActive(ctx, info.StoreID, false); err != nil {
			t.Fatal(err)
		}
		third, err := Ensure(ctx, deps, path, "http://127.0.0.1:8080")
		if err != nil || third.StoreID != info.StoreID {
			t.Fatalf("third run: %d, %v", third.StoreID, err)
		}
	})
}
