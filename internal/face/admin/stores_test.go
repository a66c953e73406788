package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/operator"
	"kios/internal/payment"
	"kios/internal/qris"
)

func init() {
	roleMatrix = append(roleMatrix,
		endpoint{"members", "POST", "/api/admin/members/zorro/webhook-secret", `{}`, onlyAdmin},
		endpoint{"members", "POST", "/api/admin/members/zorro/webhook-test", `{}`, onlyAdmin},
		endpoint{"stores", "GET", "/api/admin/stores", "", readMoney},
		endpoint{"stores", "POST", "/api/admin/stores", `{}`, onlyAdmin},
		endpoint{"stores", "PATCH", "/api/admin/stores/999", `{}`, onlyAdmin},
	)
}

func TestStoresCreateUpdateList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		static := payment.DemoQRIS("Toko Zorro", "Bandung")
		status, body := e.call(t, operator.Admin, "POST", "/api/admin/stores", fmt.Sprintf(
			`{"member":"zorro","name":"Toko Zorro","static_qris":%q,"callback_url":"https://zorro.example/pay",
			  "invoice_lifetime_sec":1800,"fee_percent_bp":70,"sandbox":true,"comment":"merchant baru"}`, static))
		if status != 200 || !strings.Contains(body, `"member":"zorro"`) || !strings.Contains(body, `"invoice_lifetime_sec":1800`) {
			t.Fatalf("create: %d %s", status, body)
		}
		id := decodeJSON[struct {
			Data struct{ ID int64 }
		}](t, body).Data.ID
		sid := fmt.Sprint(id)
		if op, comment, _, after := e.auditOf(t, "store.create", sid); op != "op-admin" || comment != "merchant baru" || !strings.Contains(after, `"fee_percent_bp":70`) {
			t.Errorf("create audit: %s %q %s", op, comment, after)
		}
		status, body = e.call(t, operator.Admin, "PATCH", "/api/admin/stores/"+sid, `{"active":false,"fee_flat":100,"comment":"tutup sementara"}`)
		if status != 200 || !strings.Contains(body, `"active":false`) || !strings.Contains(body, `"fee_flat":100`) || !strings.Contains(body, `"name":"Toko Zorro"`) {
			t.Fatalf("update: %d %s", status, body)
		}
		if _, _, before, after := e.auditOf(t, "store.update", sid); !strings.Contains(before, `"active":true`) || !strings.Contains(after, `"active":false`) {
			t.Errorf("update audit: %s → %s", before, after)
		}
		st, err := e.stores.Get(ctx, id)
		if err != nil || st.Active || st.FeeFlat != 100 || st.FeePercentBP != 70 || st.StaticQRIS != static || st.CallbackURL != "https://zorro.example/pay" {
			t.Errorf("stored: %+v %v", st, err)
		}
		other := e.member(t, "yuli", "", 0)
		if _, err := e.stores.Add(ctx, payment.NewStore{MemberID: other.ID, Name: "Warung Yuli"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			query string
			rows  int
			first string
		}{
			{"", 2, "Toko Zorro"},
			{"?member=yuli", 1, "Warung Yuli"},
			{"?per_page=1&page=2", 2, "Warung Yuli"},
		} {
			status, body := e.call(t, operator.Viewer, "GET", "/api/admin/stores"+tc.query, "")
			l := decodeJSON[struct {
				Data []struct {
					Name string `json:"name"`
				} `json:"data"`
				TotalRows int `json:"total_rows"`
			}](t, body)
			if status != 200 || l.TotalRows != tc.rows || len(l.Data) == 0 || l.Data[0].Name != tc.first {
				t.Errorf("list%s: %d %s", tc.query, status, body)
			}
		}

		dynamic, err := qris.ToDynamic(static, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		audits := e.auditRows(t)
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
			field                    string
		}{
			{"no comment", "POST", "/api/admin/stores", `{"member":"zorro","name":"x"}`, 400, "comment"},
			{"no member", "POST", "/api/admin/stores", `{"name":"x","comment":"c"}`, 400, "member"},
			{"unknown member", "POST", "/api/admin/stores", `{"member":"nobody","name":"x","comment":"c"}`, 404, "member"},
			{"no name", "POST", "/api/admin/stores", `{"member":"zorro","comment":"c"}`, 400, "name"},
			{"dynamic qris", "POST", "/api/admin/stores", fmt.Sprintf(`{"member":"zorro","name":"x","static_qris":%q,"comment":"c"}`, dynamic), 400, "static_qris"},
			{"bad crc", "POST", "/api/admin/stores", fmt.Sprintf(`{"member":"zorro","name":"x","static_qris":%q,"comment":"c"}`, static[:len(static)-4]+"0000"), 400, "static_qris"},
			{"bad callback", "PATCH", "/api/admin/stores/" + sid, `{"callback_url":"ftp://x","comment":"c"}`, 400, "callback_url"},
			{"bad lifetime", "PATCH", "/api/admin/stores/" + sid, `{"invoice_lifetime_sec":5,"comment":"c"}`, 400, "lifetime"},
			{"nothing", "PATCH", "/api/admin/stores/" + sid, `{"comment":"c"}`, 400, ""},
			{"unknown store", "PATCH", "/api/admin/stores/999", `{"active":true,"comment":"c"}`, 404, ""},
			{"bad id", "PATCH", "/api/admin/stores/abc", `{"active":true,"comment":"c"}`, 400, "id"},
		} {
			status, body := e.call(t, operator.Admin, tc.method, tc.path, tc.body)
			if er := decodeJSON[apiErr](t, body); status != tc.status || er.Error.Field != tc.field {
				t.Errorf("%s: %d %s; want %d about %q", tc.name, status, body, tc.status, tc.field)
			}
		}
		if n := e.auditRows(t); n != audits {
			t.Errorf("refused changes wrote %d audit rows", n-audits)
		}
	})
}

func TestMemberWebhookSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		// A member without a URL cannot be sent a test.
		status, body := e.call(t, operator.Admin, "POST", "/api/admin/members/zorro/webhook-test", `{"comment":"coba"}`)
		if er := decodeJSON[apiErr](t, body); status != 422 || er.Error.Field != "webhook_url" {
			t.Errorf("test without URL: %d %s", status, body)
		}
		status, body = e.call(t, operator.Admin, "PATCH", "/api/admin/members/zorro", `{"webhook_url":"https://zorro.example/hook","comment":"minta via WA"}`)
		if status != 200 {
			t.Fatalf("set URL: %d %s", status, body)
		}
		if u, _ := e.hooks.URL(ctx, e.zorro.ID); u != "https://zorro.example/hook" {
			t.Errorf("URL %q", u)
		}
		if _, comment, before, after := e.auditOf(t, "member.update", "zorro"); comment != "minta via WA" ||
			!strings.Contains(before, `"webhook_url":""`) || !strings.Contains(after, `"webhook_url":"https://zorro.example/hook"`) {
			t.Errorf("audit: %q %s → %s", comment, before, after)
		}
		// Level and URL together: one transaction, one more audit row.
		status, body = e.call(t, operator.Admin, "PATCH", "/api/admin/members/zorro", `{"level":"h2h","webhook_url":"https://zorro.example/v2","comment":"naik level"}`)
		if status != 200 || !strings.Contains(body, `"level":"h2h"`) {
			t.Fatalf("level and URL: %d %s", status, body)
		}
		if u, _ := e.hooks.URL(ctx, e.zorro.ID); u != "https://zorro.example/v2" {
			t.Errorf("URL %q", u)
		}
		if n := e.auditCount(t, "member.update", "zorro"); n != 2 {
			t.Errorf("%d member.update rows, want 2", n)
		}
		// A bad URL with a good level changes neither.
		status, body = e.call(t, operator.Admin, "PATCH", "/api/admin/members/zorro", `{"level":"member","webhook_url":"ftp://x","comment":"c"}`)
		if er := decodeJSON[apiErr](t, body); status != 400 || er.Error.Field != "webhook_url" {
			t.Errorf("bad URL: %d %s", status, body)
		}
		if m, _ := e.members.ByID(ctx, e.zorro.ID); m.Level != "h2h" || e.auditCount(t, "member.update", "zorro") != 2 {
			t.Errorf("a refused change moved the level to %s", m.Level)
		}

		old, err := e.hooks.Secret(ctx, e.zorro.ID)
		if err != nil {
			t.Fatal(err)
		}
		status, body = e.call(t, operator.Admin, "POST", "/api/admin/members/zorro/webhook-secret", `{"comment":"bocor"}`)
		secret := decodeJSON[struct {
			Secret string `json:"secret"`
		}](t, body).Secret
		if status != 200 || !strings.HasPrefix(secret, "whsec_") || secret == old {
			t.Fatalf("rotate: %d %s", status, body)
		}
		if now, _ := e.hooks.Secret(ctx, e.zorro.ID); now != secret {
			t.Error("the answer's secret is not the member's secret")
		}
		_, _, _, after := e.auditOf(t, "member.webhook_secret", "zorro")
		if strings.Contains(after, secret) || strings.Contains(after, old) || strings.Contains(e.logs.String(), secret) {
			t.Error("a signing secret reached the audit log or the logs")
		}

		status, body = e.call(t, operator.Admin, "POST", "/api/admin/members/zorro/webhook-test", `{"comment":"coba"}`)
		id := decodeJSON[struct {
			Data struct{ ID int64 }
		}](t, body).Data.ID
		if status != 200 || id == 0 {
			t.Fatalf("test: %d %s", status, body)
		}
		msg, err := e.hooks.Message(ctx, id)
		if err != nil || msg.MemberID != e.zorro.ID || msg.Kind != "test" || msg.Status != "pending" {
			t.Errorf("test message: %+v %v", msg, err)
		}
		e.auditOf(t, "member.webhook_test", "zorro")
		status, body = e.call(t, operator.Admin, "POST", "/api/admin/members/nobody/webhook-secret", `{"comment":"c"}`)
		if status != 404 {
			t.Errorf("unknown member: %d %s", status, body)
		}
	})
}
