package member

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/token"
)

func mustCreate(t *testing.T, s *Store, nc NewCredential) Issued {
	t.Helper()
	is, err := s.CreateCredential(context.Background(), nc)
	if err != nil {
		t.Fatalf("CreateCredential: %v", err)
	}
	return is
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func TestCredentialAuthenticate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		m := mustAdd(t, s, NewMember{Username: "budi"})
		is := mustCreate(t, s, NewCredential{MemberID: m.ID})
		if len(is.APIKey) != 40 || len(is.SecretKey) != 72 || !isBase62(is.APIKey) || !isBase62(is.SecretKey) {
			t.Fatalf("issued key %d chars, secret %d chars; want 40 and 72 base62", len(is.APIKey), len(is.SecretKey))
		}
		if is.KeyHint != is.APIKey[:6] || is.MemberID != m.ID || is.ID == 0 || is.Revoked || !is.CreatedAt.Equal(now) {
			t.Fatalf("issued credential %+v", is.Credential)
		}
		other := mustCreate(t, s, NewCredential{MemberID: m.ID})
		if other.APIKey == is.APIKey || other.SecretKey == is.SecretKey {
			t.Fatal("two credentials share a key or secret")
		}

		c, got, err := s.Authenticate(ctx, is.APIKey)
		if err != nil {
			t.Fatal(err)
		}
		if got != m {
			t.Fatalf("Authenticate member = %+v, want %+v", got, m)
		}
		if c.ID != is.ID || c.MemberID != m.ID || c.KeyHint != is.KeyHint || c.Revoked || !c.CreatedAt.Equal(now) {
			t.Fatalf("Authenticate credential = %+v, want %+v", c, is.Credential)
		}
		if err := c.CheckSignature(is.SecretKey, nil, now); err != nil {
			t.Fatalf("the credential found does not know its secret: %v", err)
		}
		if err := c.CheckSignature(other.SecretKey, nil, now); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("another credential's secret accepted: %v", err)
		}

		for name, key := range map[string]string{
			"empty":          "",
			"wrong":          token.New(40),
			"the secret":     is.SecretKey,
			"one char off":   is.APIKey[:39] + flip(is.APIKey[39]),
			"other case":     swapCase(is.APIKey),
			"with a newline": is.APIKey + "\n",
			"huge":           strings.Repeat("k", 1<<20),
		} {
			if _, _, err := s.Authenticate(ctx, key); err != ErrInvalidKey {
				t.Fatalf("Authenticate(%s key) = %v, want ErrInvalidKey", name, err)
			}
		}

		// Revoked: the key stops working, the other keeps working.
		if err := s.RevokeCredential(ctx, m.ID, is.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Authenticate(ctx, is.APIKey); !errors.Is(err, ErrInvalidKey) || fault.CodeOf(err) != fault.Unauthorized {
			t.Fatalf("revoked key: %v, want ErrInvalidKey", err)
		}
		if _, _, err := s.Authenticate(ctx, other.APIKey); err != nil {
			t.Fatalf("other key after revoking one: %v", err)
		}
		if err := s.RevokeCredential(ctx, m.ID, is.ID); err != nil {
			t.Fatalf("revoking again: %v", err)
		}
		list, err := s.Credentials(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != is.ID || !list[0].Revoked || list[1].ID != other.ID || list[1].Revoked {
			t.Fatalf("Credentials = %+v", list)
		}
	})
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}

func TestRevokeIsScopedToTheMember(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		a := mustAdd(t, s, NewMember{Username: "budi"})
		b := mustAdd(t, s, NewMember{Username: "siti"})
		is := mustCreate(t, s, NewCredential{MemberID: a.ID})
		if err := s.RevokeCredential(ctx, b.ID, is.ID); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("revoking another member's credential: %v", err)
		}
		if err := s.RevokeCredential(ctx, a.ID, 999); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("revoking a credential that does not exist: %v", err)
		}
		if err := s.SetSignedOnly(ctx, b.ID, is.ID, true); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("changing another member's credential: %v", err)
		}
		c, _, err := s.Authenticate(ctx, is.APIKey)
		if err != nil || c.SignedOnly {
			t.Fatalf("the credential after another member's attempts: %+v, %v", c, err)
		}
		if list, err := s.Credentials(ctx, b.ID); err != nil || len(list) != 0 {
			t.Fatalf("Credentials of a member without any: %v, %v", list, err)
		}
	})
}

// TestSecretsAreNotStored reads every column of the credentials table and
// checks that neither the key nor the secret is there, only their hashes.
func TestSecretsAreNotStored(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		m := mustAdd(t, s, NewMember{Username: "budi"})
		is := mustCreate(t, s, NewCredential{MemberID: m.ID, AllowIPs: []string{"10.0.0.0/8"}})
		rows, err := d.Query(ctx, "SELECT * FROM credentials")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var stored strings.Builder
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&stored, "%s=%v\n", cols[i], v)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		row := stored.String()
		if strings.Contains(row, is.APIKey) || strings.Contains(row, is.SecretKey) || strings.Contains(row, is.APIKey[:12]) {
			t.Fatalf("the credentials row holds the key or the secret:\n%s", row)
		}
		for _, want := range []string{"key_hash=" + token.Hash(is.APIKey), "secret_hash=" + token.Hash(is.SecretKey), "key_hint=" + is.APIKey[:6]} {
			if !strings.Contains(row, want) {
				t.Fatalf("the credentials row lacks %s:\n%s", want, row)
			}
		}
	})
}

// TestIssuedDoesNotPrintSecrets prints and logs an Issued the careless
// ways: neither the key nor the secret may come out.
func TestIssuedDoesNotPrintSecrets(t *testing.T) {
	is := Issued{Credential: Credential{ID: 7, MemberID: 3, KeyHint: "abcdef"},
		APIKey: "abcdef" + token.New(34), SecretKey: token.New(72)}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("issued", "credential", is)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("issued", "credential", is)
	for _, out := range []string{fmt.Sprint(is), fmt.Sprintf("%v %+v %s", is, is, is), logged.String()} {
		if strings.Contains(out, is.APIKey) || strings.Contains(out, is.SecretKey) {
			t.Fatalf("printed a secret: %s", out)
		}
		if !strings.Contains(out, "abcdef") {
			t.Fatalf("printed no key hint: %s", out)
		}
	}
}

func TestCredentialInactiveMember(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		m := mustAdd(t, s, NewMember{Username: "budi"})
		is := mustCreate(t, s, NewCredential{MemberID: m.ID})
		if err := s.SetActive(ctx, m.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAPIAccess(ctx, m.ID, false); err != nil {
			t.Fatal(err)
		}
		// Not an error here: the face decides, from the member returned.
		_, got, err := s.Authenticate(ctx, is.APIKey)
		if err != nil || got.ID != m.ID || got.Active || got.APIAccess {
			t.Fatalf("Authenticate for a member switched off: %+v, %v", got, err)
		}
	})
}

func TestCreateCredentialInvalid(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		m := mustAdd(t, s, NewMember{Username: "budi"})
		for _, tc := range []struct {
			nc    NewCredential
			code  fault.Code
			field string
		}{
			{NewCredential{MemberID: 999}, fault.NotFound, "member_id"},
			{NewCredential{MemberID: m.ID, AllowIPs: []string{"10.0.0.1", "not-an-ip"}}, fault.Invalid, "allow_ips"},
			{NewCredential{MemberID: m.ID, RatePerSec: -1}, fault.Invalid, "rate_per_sec"},
			{NewCredential{MemberID: m.ID, RateBurst: -5}, fault.Invalid, "rate_burst"},
		} {
			is, err := s.CreateCredential(ctx, tc.nc)
			wantFault(t, err, tc.code, tc.field)
			if is.APIKey != "" || is.SecretKey != "" {
				t.Fatalf("a refused CreateCredential returned a key")
			}
		}
		if n := count(t, d, "credentials"); n != 0 {
			t.Fatalf("%d credentials after refused creates", n)
		}
	})
}

func TestCredentialSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		m := mustAdd(t, s, NewMember{Username: "budi"})
		is := mustCreate(t, s, NewCredential{MemberID: m.ID, AllowIPs: []string{"203.0.113.7", " 10.0.0.0/8 ", "", "203.0.113.7"},
			SignedOnly: true, RatePerSec: 500, RateBurst: 1000})
		wantIPs := []netip.Prefix{netip.MustParsePrefix("203.0.113.7/32"), netip.MustParsePrefix("10.0.0.0/8")}
		c, _, err := s.Authenticate(ctx, is.APIKey)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.AllowIPs, wantIPs) || !slices.Equal(is.AllowIPs, wantIPs) || !c.SignedOnly || c.RatePerSec != 500 || c.RateBurst != 1000 {
			t.Fatalf("stored settings %+v, issued %+v", c, is.Credential)
		}
		if !c.AllowsIP(netip.MustParseAddr("10.9.8.7")) || c.AllowsIP(netip.MustParseAddr("192.0.2.1")) {
			t.Fatal("the stored allow-list does not work")
		}
		if err := c.CheckSignature(is.SecretKey, nil, now); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("signed-only credential took the plain secret: %v", err)
		}

		if err := s.SetAllowIPs(ctx, m.ID, is.ID, []string{"2001:db8::/32"}); err != nil {
			t.Fatal(err)
		}
		wantFault(t, s.SetAllowIPs(ctx, m.ID, is.ID, []string{"2001:db8::/129"}), fault.Invalid, "allow_ips")
		if err := s.SetSignedOnly(ctx, m.ID, is.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRate(ctx, m.ID, is.ID, 0, 0); err != nil {
			t.Fatal(err)
		}
		wantFault(t, s.SetRate(ctx, m.ID, is.ID, -1, 0), fault.Invalid, "rate_per_sec")
		c, _, err = s.Authenticate(ctx, is.APIKey)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.AllowIPs, []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}) || c.SignedOnly || c.RatePerSec != 0 || c.RateBurst != 0 {
			t.Fatalf("after the setters: %+v", c)
		}
		if err := c.CheckSignature(is.SecretKey, nil, now); err != nil {
			t.Fatalf("plain secret after signed-only was switched off: %v", err)
		}
		if err := s.SetAllowIPs(ctx, m.ID, is.ID, nil); err != nil {
			t.Fatal(err)
		}
		if c, _, _ = s.Authenticate(ctx, is.APIKey); len(c.AllowIPs) != 0 || !c.AllowsIP(netip.MustParseAddr("192.0.2.1")) {
			t.Fatalf("cleared allow-list: %v", c.AllowIPs)
		}

		// A revoked credential stays as it was.
		if err := s.RevokeCredential(ctx, m.ID, is.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.SetSignedOnly(ctx, m.ID, is.ID, true); fault.CodeOf(err) != fault.Conflict {
			t.Fatalf("changing a revoked credential: %v", err)
		}
		if list, _ := s.Credentials(ctx, m.ID); len(list) != 1 || list[0].SignedOnly || !list[0].Revoked {
			t.Fatalf("revoked credential changed: %+v", list)
		}
	})
}

var allowIPTests = []struct {
	name    string
	entries []string
	allow   []string
	deny    []string
}{
	{"empty list allows all", nil,
		[]string{"203.0.113.7", "::1", "2001:db8::1", "::ffff:10.0.0.1"}, nil},
	{"only blanks allows all", []string{"", "  "},
		[]string{"203.0.113.7"}, nil},
	{"single IPv4", []string{"203.0.113.7"},
		[]string{"203.0.113.7", "::ffff:203.0.113.7"}, []string{"203.0.113.8", "203.0.113.6", "2001:db8::1"}},
	{"IPv4 CIDR", []string{"10.0.0.0/8"},
		[]string{"10.0.0.0", "10.255.255.255", "::ffff:10.1.2.3"}, []string{"11.0.0.0", "9.255.255.255"}},
	{"CIDR with host bits", []string{"192.168.1.77/24"},
		[]string{"192.168.1.1", "192.168.1.254"}, []string{"192.168.2.1"}},
	{"single IPv6", []string{"2001:db8::1"},
		[]string{"2001:db8::1", "2001:0db8:0000::0001"}, []string{"2001:db8::2", "203.0.113.7"}},
	{"IPv6 CIDR", []string{"2001:db8::/32"},
		[]string{"2001:db8::1", "2001:db8:ffff::1"}, []string{"2001:db9::1", "10.0.0.1"}},
	{"IPv4-mapped entry", []string{"::ffff:198.51.100.9"},
		[]string{"198.51.100.9", "::ffff:198.51.100.9"}, []string{"198.51.100.10"}},
	{"IPv4-mapped CIDR", []string{"::ffff:198.51.100.0/120"},
		[]string{"198.51.100.200"}, []string{"198.51.101.1"}},
	{"several entries", []string{"203.0.113.7", "2001:db8::/32"},
		[]string{"203.0.113.7", "2001:db8::5"}, []string{"203.0.113.9", "::1"}},
}

func TestAllowsIP(t *testing.T) {
	for _, tc := range allowIPTests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := ParseAllowIPs(tc.entries)
			if err != nil {
				t.Fatal(err)
			}
			// Through the stored form, as Authenticate reads it.
			if ps, err = decodeAllowIPs(formatAllowIPs(ps)); err != nil {
				t.Fatal(err)
			}
			c := Credential{AllowIPs: ps}
			for _, ip := range tc.allow {
				if !c.AllowsIP(netip.MustParseAddr(ip)) {
					t.Errorf("%s refused by %v", ip, tc.entries)
				}
			}
			for _, ip := range tc.deny {
				if c.AllowsIP(netip.MustParseAddr(ip)) {
					t.Errorf("%s allowed by %v", ip, tc.entries)
				}
			}
			if len(ps) > 0 && c.AllowsIP(netip.Addr{}) {
				t.Error("an unknown (zero) address passed a non-empty allow-list")
			}
		})
	}
}

var badAllowIPs = []string{"1.2.3", "256.1.1.1", "10.0.0.0/33", "2001:db8::/129", "example.com", "fe80::1%eth0",
	"1.2.3.4/-1", "1.2.3.4/", "/24", "1.2.3.4 5.6.7.8", "10.0.0.1-10.0.0.9"}

func TestParseAllowIPsInvalid(t *testing.T) {
	for _, e := range badAllowIPs {
		ps, err := ParseAllowIPs([]string{"10.0.0.1", e})
		if fault.CodeOf(err) != fault.Invalid || fault.FieldOf(err) != "allow_ips" || ps != nil {
			t.Errorf("ParseAllowIPs(%q) = %v, %v; want an invalid allow_ips fault", e, ps, err)
		}
	}
	many := make([]string, maxAllowIPs+1)
	for i := range many {
		many[i] = fmt.Sprintf("10.0.%d.%d", i/256, i%256)
	}
	if _, err := ParseAllowIPs(many); fault.FieldOf(err) != "allow_ips" {
		t.Errorf("%d entries: %v", len(many), err)
	}
	if _, err := ParseAllowIPs(many[:maxAllowIPs]); err != nil {
		t.Errorf("%d entries: %v", maxAllowIPs, err)
	}
}

// TestParseAllowIPsCanonical checks the stored form: single addresses as
// full-length prefixes, IPv4-mapped entries as IPv4, host bits cleared, so
// that equal ranges are stored equally and deduplicated.
func TestParseAllowIPsCanonical(t *testing.T) {
	got, err := ParseAllowIPs([]string{"203.0.113.7", "192.168.1.77/24", "192.168.1.0/24", "::ffff:198.51.100.9",
		"::ffff:198.51.100.0/120", "2001:DB8::1", "2001:db8:0:0:1::/64"})
	if err != nil {
		t.Fatal(err)
	}
	want := "203.0.113.7/32,192.168.1.0/24,198.51.100.9/32,198.51.100.0/24,2001:db8::1/128,2001:db8::/64"
	if s := formatAllowIPs(got); s != want {
		t.Fatalf("stored form %s, want %s", s, want)
	}
}

// TestAuthCache: a change through the same Store takes effect at once even
// after a cached answer; a change made elsewhere (another Store, as another
// process would) takes effect once AuthCacheTTL has passed.
func TestAuthCache(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock := now
		s := NewStore(d, func() time.Time { return clock })
		m := mustAdd(t, s, NewMember{Username: "budi"})
		a := mustCreate(t, s, NewCredential{MemberID: m.ID})
		b := mustCreate(t, s, NewCredential{MemberID: m.ID})
		for _, is := range []Issued{a, b} {
			if _, _, err := s.Authenticate(ctx, is.APIKey); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RevokeCredential(ctx, m.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Authenticate(ctx, a.APIKey); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("revoked through the same store, still accepted: %v", err)
		}
		if _, _, err := s.Authenticate(ctx, b.APIKey); err != nil { // cached again
			t.Fatal(err)
		}
		elsewhere := NewStore(d, func() time.Time { return clock })
		if err := elsewhere.SetAPIAccess(ctx, m.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, got, _ := s.Authenticate(ctx, b.APIKey); !got.APIAccess {
			t.Fatal("the cached answer should still be served within the TTL")
		}
		clock = clock.Add(AuthCacheTTL)
		if _, got, err := s.Authenticate(ctx, b.APIKey); err != nil || got.APIAccess {
			t.Fatalf("after the TTL the change made elsewhere must show: %+v %v", got, err)
		}
	})
}

// TestAdmits: the one question every face asks after the key — the member
// switched on, with API access, calling from an allowed address.
func TestAdmits(t *testing.T) {
	c := Credential{AllowIPs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}
	in, out := netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("198.51.100.1")
	on := Member{Active: true, APIAccess: true}
	cases := []struct {
		name string
		m    Member
		ip   netip.Addr
		want bool
	}{
		{"allowed", on, in, true},
		{"outside the allow-list", on, out, false},
		{"member switched off", Member{Active: false, APIAccess: true}, in, false},
		{"API access off", Member{Active: true, APIAccess: false}, in, false},
	}
	for _, tc := range cases {
		if got := c.Admits(tc.m, tc.ip); got != tc.want {
			t.Errorf("%s: Admits = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !(Credential{}).Admits(on, out) {
		t.Error("an empty allow-list admits every address")
	}
}
