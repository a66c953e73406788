package prepaid_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/supplier/prepaid"
	"kios/internal/webhook"
)

func keyring(t *testing.T) *webhook.Keyring {
	t.Helper()
	k, err := webhook.NewKeyring([]byte(strings.Repeat("k", webhook.MasterKeySize)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestConfigsSealSecrets: a configured supplier comes back whole, its keys
// are sealed in the database, and neither String, LogValue nor %+v / %#v
// shows them.
func TestConfigsSealSecrets(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := prepaid.NewConfigs(d, keyring(t), time.Now)
		ips, err := prepaid.ParseIPs([]string{"203.0.113.7", " 198.51.100.0/24 ", ""})
		if err != nil {
			t.Fatal(err)
		}
		c := prepaid.Config{Name: "upstream", BaseURL: "https://up.example/", APIKey: "API-KEY-SECRET-1", SecretKey: "SECRET-KEY-2",
			SignatureSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", WebhookIPs: ips, SignedForm: true}
		if err := s.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "upstream")
		if err != nil {
			t.Fatal(err)
		}
		if got.BaseURL != "https://up.example" || got.APIKey != c.APIKey || got.SecretKey != c.SecretKey ||
			got.SignatureSecret != c.SignatureSecret || !got.SignedForm || prepaid.FormatIPs(got.WebhookIPs) != "203.0.113.7,198.51.100.0/24" {
			t.Fatalf("got %#v", got)
		}
		if !got.AllowsWebhookFrom(netip.MustParseAddr("198.51.100.9")) || got.AllowsWebhookFrom(netip.MustParseAddr("127.0.0.1")) {
			t.Fatal("webhook source check is wrong")
		}
		var stored string
		if err := d.QueryRow(ctx, "SELECT api_key || secret_key || signature_secret FROM suppliers WHERE name = 'upstream'").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		var logged strings.Builder
		slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "supplier", got)
		for _, shown := range []string{stored, got.String(), fmt.Sprintf("%v %+v %#v %s", got, got, got, got), logged.String()} {
			for _, secret := range []string{c.APIKey, c.SecretKey, c.SignatureSecret} {
				if strings.Contains(shown, secret) {
					t.Fatalf("%q shows a secret", shown)
				}
			}
		}

		// Replacing keeps one row; bad input writes nothing.
		c.BaseURL = "http://other.example"
		if err := s.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []struct {
			field string
			c     prepaid.Config
		}{
			{"name", prepaid.Config{Name: "Has Space", BaseURL: "http://x", APIKey: "a", SecretKey: "b"}},
			{"base_url", prepaid.Config{Name: "x", BaseURL: "ftp://x", APIKey: "a", SecretKey: "b"}},
			{"api_key", prepaid.Config{Name: "x", BaseURL: "http://x", SecretKey: "b"}},
			{"secret_key", prepaid.Config{Name: "x", BaseURL: "http://x", APIKey: "a"}},
			{"signature_secret", prepaid.Config{Name: "x", BaseURL: "http://x", APIKey: "a", SecretKey: "b", SignatureSecret: "plain"}},
		} {
			if err := s.Put(ctx, bad.c); fault.CodeOf(err) != fault.Invalid || fault.FieldOf(err) != bad.field {
				t.Fatalf("%s: %v", bad.field, err)
			}
		}
		if _, err := prepaid.ParseIPs([]string{"300.1.1.1"}); fault.FieldOf(err) != "webhook_ips" {
			t.Fatalf("bad IP: %v", err)
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 1 || list[0].BaseURL != "http://other.example" {
			t.Fatalf("list: %v %v", list, err)
		}
		if _, err := s.Get(ctx, "nobody"); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("unknown: %v", err)
		}
	})
}
