package payment

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/member"
	"kios/internal/qris"
)

// Static payloads from design/qris.md, and the first one made dynamic.
const (
	staticDANA   = "00020101021126570011ID.DANA.WWW011893600915302259148102090225914810303UMI51440014ID.CO.QRIS.WWW0215ID10200176114730303UMI5204581253033605802ID5922Warung Sayur Bu Sugeng6010Kab. Demak610559567630458C7"
	dynamicDANA  = "00020101021226570011ID.DANA.WWW011893600915302259148102090225914810303UMI51440014ID.CO.QRIS.WWW0215ID10200176114730303UMI5204581253033605405500005802ID5922Warung Sayur Bu Sugeng6010Kab. Demak61055956763040F25"
	staticSintas = "00020101021126630016COM.MEMBASUH.WWW0118936000091100004515021004893710810303UMI51440014ID.CO.QRIS.WWW0215ID20200340731930303UKE5204482953033605802ID5912Sintas Store6015Kota Yogyakarta61055500062070703A0163049FB7"
)

var feeCases = []struct {
	name        string
	flat, bp    int64
	amount, fee int64
}{
	{"no fee rule", 0, 0, 10_387, 0},
	{"flat only", 500, 0, 10_387, 500},
	{"percent only", 0, 70, 100_000, 700},
	{"both", 1_000, 250, 100_000, 3_500},
	{"percent rounds down below half", 0, 50, 99, 0},     // 0.495
	{"percent rounds up at exactly half", 0, 50, 100, 1}, // 0.5
	{"percent rounds up above half", 0, 70, 10_387, 73},  // 72.709
	{"percent half rounds up, odd", 0, 50, 300, 2},       // 1.5
	{"percent just below half", 0, 1, 4_999, 0},          // 0.4999
	{"percent at half, 1 bp", 0, 1, 5_000, 1},            // 0.5
	{"both with rounding", 250, 70, 10_387, 323},
	{"whole amount", 0, 10_000, 10_387, 10_387},
	{"zero amount", 500, 250, 0, 0},
	{"negative amount", 500, 250, -1_000, 0},
	{"capped at the amount", 5_000, 0, 1_000, 1_000},
	{"largest QRIS amount, no overflow", 0, 10_000, qris.MaxAmount, qris.MaxAmount},
	{"largest QRIS amount at 1 bp", 0, 1, qris.MaxAmount, 1_000_000_000}, // 999,999,999.9999
}

func TestFee(t *testing.T) {
	for _, c := range feeCases {
		st := Store{FeeFlat: c.flat, FeePercentBP: c.bp}
		if got := st.Fee(c.amount); got != c.fee {
			t.Errorf("%s: Fee(%d) with flat %d, %d bp = %d, want %d", c.name, c.amount, c.flat, c.bp, got, c.fee)
		}
	}
}

func TestDemoQRIS(t *testing.T) {
	for _, c := range []struct{ name, city, wantName, wantCity string }{
		{"Toko Demo", "Jakarta", "Toko Demo", "Jakarta"},
		{"Warung Bu Sugeng yang sangat panjang sekali", "Kabupaten Bandung Barat", "Warung Bu Sugeng yang san", "Kabupaten Bandu"},
		{"Kopi ☕ Nusantara", "", "Kopi  Nusantara", "Jakarta"},
		{"☕", "  ", "Kios Demo", "Jakarta"},
	} {
		s := DemoQRIS(c.name, c.city)
		if err := qris.Validate(s); err != nil {
			t.Fatalf("DemoQRIS(%q, %q) = %s: %v", c.name, c.city, s, err)
		}
		p, _ := qris.Parse(s)
		if !p.IsStatic() {
			t.Errorf("DemoQRIS(%q, %q) is not static: %s", c.name, c.city, s)
		}
		if name, _ := p.Get(qris.TagMerchantName); name != c.wantName {
			t.Errorf("DemoQRIS(%q, …) name %q, want %q", c.name, name, c.wantName)
		}
		if city, _ := p.Get(qris.TagCity); city != c.wantCity {
			t.Errorf("DemoQRIS(…, %q) city %q, want %q", c.city, city, c.wantCity)
		}
		if guid, _ := p.GetSub("26", "00"); guid != DemoGUID {
			t.Errorf("GUID %q, want %q", guid, DemoGUID)
		}
		if err := CheckStaticQRIS(s); err != nil {
			t.Errorf("CheckStaticQRIS(DemoQRIS(%q, %q)): %v", c.name, c.city, err)
		}
		if _, err := qris.ToDynamic(s, 10_387); err != nil {
			t.Errorf("ToDynamic(DemoQRIS(%q, %q)): %v", c.name, c.city, err)
		}
		if again := DemoQRIS(c.name, c.city); again != s {
			t.Errorf("DemoQRIS is not deterministic: %s, then %s", s, again)
		}
	}
	if DemoQRIS("Toko A", "Jakarta") == DemoQRIS("Toko B", "Jakarta") {
		t.Error("two stores got the same demo payload")
	}
}

// storeRefusals are inputs Add must refuse, each with the field named.
var storeRefusals = []struct {
	name   string
	change func(n *NewStore)
	code   fault.Code
	field  string
	detail string // a part of the fault's Detail
}{
	{"empty name", func(n *NewStore) { n.Name = "  " }, fault.Missing, "name", "required"},
	{"long name", func(n *NewStore) { n.Name = strings.Repeat("é", 101) }, fault.Invalid, "name", "101 characters"},
	{"bad CRC", func(n *NewStore) { n.StaticQRIS = staticDANA[:len(staticDANA)-4] + "58C8" }, fault.Invalid, "static_qris", "CRC does not match"},
	{"does not parse", func(n *NewStore) { n.StaticQRIS = "000201010211xx" }, fault.Invalid, "static_qris", "malformed"},
	{"invalid field", func(n *NewStore) {
		n.StaticQRIS = qris.AppendCRC("00020101021152031235303360")
	}, fault.Invalid, "static_qris", "merchant category code"},
	{"dynamic", func(n *NewStore) { n.StaticQRIS = dynamicDANA }, fault.Invalid, "static_qris", "dynamic"},
	{"callback not a URL", func(n *NewStore) { n.CallbackURL = "toko.example/cb" }, fault.Invalid, "callback_url", "absolute"},
	{"callback ftp", func(n *NewStore) { n.CallbackURL = "ftp://toko.example/cb" }, fault.Invalid, "callback_url", "http"},
	{"callback no host", func(n *NewStore) { n.CallbackURL = "https:///cb" }, fault.Invalid, "callback_url", "absolute"},
	{"lifetime too short", func(n *NewStore) { n.Lifetime = 59 * time.Second }, fault.Invalid, "lifetime", "from 1m0s"},
	{"lifetime too long", func(n *NewStore) { n.Lifetime = 7*24*time.Hour + time.Second }, fault.Invalid, "lifetime", "168h0m0s"},
	{"lifetime negative", func(n *NewStore) { n.Lifetime = -time.Hour }, fault.Invalid, "lifetime", ""},
	{"lifetime fractional", func(n *NewStore) { n.Lifetime = time.Minute + time.Millisecond }, fault.Invalid, "lifetime", "whole"},
	{"negative flat fee", func(n *NewStore) { n.FeeFlat = -1 }, fault.Invalid, "fee_flat", "negative"},
	{"negative percent", func(n *NewStore) { n.FeePercentBP = -1 }, fault.Invalid, "fee_percent_bp", ""},
	{"percent over 100", func(n *NewStore) { n.FeePercentBP = 10_001 }, fault.Invalid, "fee_percent_bp", "10000"},
	{"unknown member", func(n *NewStore) { n.MemberID = 999_999 }, fault.NotFound, "member_id", ""},
}

func addMember(t *testing.T, d *db.DB, username string) member.Member {
	t.Helper()
	m, err := member.NewStore(d, nil).Add(context.Background(), member.NewMember{Username: username, Level: "member", Password: "rahasia123"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStores(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
		stores := NewStores(d, func() time.Time { return now })
		budi, sari := addMember(t, d, "budi"), addMember(t, d, "sari")

		valid := NewStore{MemberID: budi.ID, Name: " Warung Sayur ", StaticQRIS: staticDANA + "\n",
			CallbackURL: "https://toko.example/kios/callback", FeeFlat: 500, FeePercentBP: 70}
		for _, c := range storeRefusals {
			n := valid
			c.change(&n)
			_, err := stores.Add(ctx, n)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Code != c.code || fe.Field != c.field || !strings.Contains(fe.Detail, c.detail) {
				t.Errorf("%s: got %v, want %s about %s (%q)", c.name, err, c.code, c.field, c.detail)
			}
		}
		if got, _ := stores.ForMember(ctx, budi.ID); len(got) != 0 {
			t.Fatalf("refused stores were saved: %+v", got)
		}

		st, err := stores.Add(ctx, valid)
		if err != nil {
			t.Fatal(err)
		}
		want := Store{ID: st.ID, MemberID: budi.ID, Name: "Warung Sayur", StaticQRIS: staticDANA,
			CallbackURL: "https://toko.example/kios/callback", Lifetime: DefaultLifetime, FeeFlat: 500, FeePercentBP: 70,
			Active: true, CreatedAt: now.Truncate(time.Microsecond), UpdatedAt: now.Truncate(time.Microsecond)}
		if st != want {
			t.Fatalf("Add = %+v\nwant  %+v", st, want)
		}
		if got, err := stores.Get(ctx, st.ID); err != nil || got != want {
			t.Fatalf("Get = %+v, %v\nwant  %+v", got, err, want)
		}

		// No QRIS and no callback are allowed; sari's store is hers alone.
		other, err := stores.Add(ctx, NewStore{MemberID: sari.ID, Name: "Toko Sari", Lifetime: 7 * 24 * time.Hour, Sandbox: true})
		if err != nil {
			t.Fatal(err)
		}
		if other.StaticQRIS != "" || other.Lifetime != 7*24*time.Hour || !other.Sandbox {
			t.Fatalf("second store: %+v", other)
		}
		second, err := stores.Add(ctx, NewStore{MemberID: budi.ID, Name: "Cabang 2", StaticQRIS: staticSintas, Lifetime: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		list, err := stores.ForMember(ctx, budi.ID)
		if err != nil || len(list) != 2 || list[0] != want || list[1] != second {
			t.Fatalf("ForMember(budi) = %+v, %v", list, err)
		}
		if list, _ := stores.ForMember(ctx, sari.ID); len(list) != 1 || list[0].ID != other.ID {
			t.Fatalf("ForMember(sari) = %+v", list)
		}

		// Update replaces the settings, checked like Add's.
		now = now.Add(time.Hour)
		if _, err := stores.Update(ctx, st.ID, Settings{Name: "X", StaticQRIS: dynamicDANA}); fault.FieldOf(err) != "static_qris" {
			t.Fatalf("Update with a dynamic QRIS: %v", err)
		}
		if _, err := stores.Update(ctx, 999_999, Settings{Name: "X"}); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("Update of an unknown store: %v", err)
		}
		up, err := stores.Update(ctx, st.ID, Settings{Name: "Warung Sayur Baru", StaticQRIS: staticSintas, Lifetime: 2 * time.Hour, FeePercentBP: 10_000, Sandbox: true})
		if err != nil {
			t.Fatal(err)
		}
		want.Name, want.StaticQRIS, want.CallbackURL, want.Lifetime = "Warung Sayur Baru", staticSintas, "", 2*time.Hour
		want.FeeFlat, want.FeePercentBP, want.Sandbox, want.UpdatedAt = 0, 10_000, true, now.Truncate(time.Microsecond)
		if up != want {
			t.Fatalf("Update = %+v\nwant     %+v", up, want)
		}
		if got, _ := stores.Get(ctx, st.ID); got != want {
			t.Fatalf("Get after Update = %+v", got)
		}

		if err := stores.SetActive(ctx, st.ID, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := stores.Get(ctx, st.ID); got.Active {
			t.Fatal("SetActive(false) left the store active")
		}
		if err := stores.SetActive(ctx, st.ID, true); err != nil {
			t.Fatal(err)
		}
		if got, _ := stores.Get(ctx, st.ID); !got.Active {
			t.Fatal("SetActive(true) left the store inactive")
		}
		if err := stores.SetActive(ctx, 999_999, true); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("SetActive of an unknown store: %v", err)
		}
		if _, err := stores.Get(ctx, 999_999); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("Get of an unknown store: %v", err)
		}
	})
}

// TestStoreCache: Get serves a store from the cache for at most
// storeCacheTTL after a change made behind the Stores' back (another kios
// process on the same PostgreSQL), sees changes made through the Stores at
// once, and does not remember unknown ids.
func TestStoreCache(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		stores := NewStores(d, func() time.Time { return now })
		budi := addMember(t, d, "budi")
		st, err := stores.Add(ctx, NewStore{MemberID: budi.ID, Name: "Warung"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stores.Get(ctx, st.ID+1); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("Get of the next id: %v", err)
		}
		next, err := stores.Add(ctx, NewStore{MemberID: budi.ID, Name: "Cabang"})
		if err != nil || next.ID != st.ID+1 {
			t.Fatalf("second store %+v, %v", next, err)
		}
		if got, err := stores.Get(ctx, next.ID); err != nil || got.Name != "Cabang" {
			t.Fatalf("Get of a store missed before = %+v, %v", got, err)
		}

		behindBack := func(name string) {
			t.Helper()
			if err := d.Write(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec("UPDATE stores SET name = ? WHERE id = ?", name, st.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		cases := []struct {
			name    string
			advance time.Duration
			want    string
		}{
			{"within the TTL the cached row", 0, "Warung"},
			{"just before the TTL ends", storeCacheTTL - time.Microsecond, "Warung"},
			{"once the TTL has passed the new row", time.Microsecond, "Lain"},
		}
		if got, _ := stores.Get(ctx, st.ID); got.Name != "Warung" {
			t.Fatalf("Get = %+v", got)
		}
		behindBack("Lain")
		for _, c := range cases {
			now = now.Add(c.advance)
			if got, err := stores.Get(ctx, st.ID); err != nil || got.Name != c.want {
				t.Fatalf("%s: Get = %q, %v, want %q", c.name, got.Name, err, c.want)
			}
		}
		// Through the Stores a change is seen at once.
		if err := stores.SetActive(ctx, st.ID, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := stores.Get(ctx, st.ID); got.Active {
			t.Fatal("Get after SetActive(false) served the cached active store")
		}
	})
}
