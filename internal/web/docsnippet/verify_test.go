package docsnippet

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"kios/internal/webhook"
)

// TestSnippetAcceptsWhatKiosSigns: the code /docs shows accepts messages
// signed by kios (one secret, and two during a rotation) and refuses a
// changed body, another secret, and a stale timestamp.
func TestSnippetAcceptsWhatKiosSigns(t *testing.T) {
	oldS, _ := webhook.NewSecret()
	newS, _ := webhook.NewSecret()
	other, _ := webhook.NewSecret()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"webhook_type":"transaction_status","reference":"TRX1","status":"success"}`)
	cases := []struct {
		name    string
		signers []string
		secret  string
		body    []byte
		at      time.Time
		ok      bool
	}{
		{"one secret", []string{newS}, newS, body, now, true},
		{"rotation, the new secret", []string{newS, oldS}, newS, body, now, true},
		{"rotation, the old secret", []string{newS, oldS}, oldS, body, now, true},
		{"another secret", []string{newS}, other, body, now, false},
		{"changed body", []string{newS}, newS, []byte(strings.Replace(string(body), "success", "failed", 1)), now, false},
		{"stale", []string{newS}, newS, body, now.Add(6 * time.Minute), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := webhook.Sign(c.signers, "msg_1", now, body)
			if err != nil {
				t.Fatal(err)
			}
			hdr := http.Header{}
			h.Set(hdr)
			if got := VerifyStandard(c.secret, hdr, c.body, c.at); got != c.ok {
				t.Errorf("VerifyStandard = %v, want %v", got, c.ok)
			}
			hexOK := c.ok || c.name == "stale" // the hex form carries no timestamp
			if got := VerifyHex(c.secret, hdr, c.body); got != hexOK {
				t.Errorf("VerifyHex = %v, want %v", got, hexOK)
			}
		})
	}
	if src := Source(); !strings.HasPrefix(src, "package main") || !strings.Contains(src, "func VerifyStandard") {
		t.Errorf("Source:\n%s", src)
	}
}
