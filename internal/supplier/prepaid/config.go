package prepaid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
)

// Kind is the kind of supplier this package implements, as stored in the
// suppliers table.
const Kind = "prepaid"

// namePattern is what a supplier's name may look like: the same as a
// catalog SKU's supplier, since SKUs name their supplier by it.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// maxWebhookIPs bounds a supplier's webhook source list.
const maxWebhookIPs = 50

// Config is one configured prepaid supplier, with its secrets in the
// clear. Its String and LogValue never show them.
type Config struct {
	Name    string
	BaseURL string // e.g. https://supplier.example (the /api/prepaid paths are added)
	APIKey  string
	// SecretKey signs orders and balance calls.
	SecretKey string
	// SignedForm sends the Signature header as t=…,v1=<HMAC> (what a kios
	// upstream accepts, and can be told to require) instead of the plain
	// secret key the reference documents send.
	SignedForm bool
	// WebhookIPs are the addresses the supplier's webhooks may come from;
	// empty means any address (then SignatureSecret must be set).
	WebhookIPs []netip.Prefix
	// SignatureSecret, when set, is the whsec_… secret the supplier signs
	// its webhooks with (Standard Webhooks and the hex Signature header).
	SignatureSecret string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// String describes c without its secrets.
func (c Config) String() string {
	return fmt.Sprintf("%s (%s %s, webhook IPs %s, signature %t)", c.Name, Kind, c.BaseURL, FormatIPs(c.WebhookIPs), c.SignatureSecret != "")
}

// AllowsWebhookFrom reports whether ip is one of the supplier's webhook
// source addresses; with no list configured, every address is.
func (c Config) AllowsWebhookFrom(ip netip.Addr) bool {
	if len(c.WebhookIPs) == 0 {
		return true
	}
	ip = ip.Unmap()
	for _, p := range c.WebhookIPs {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseIPs turns addresses and CIDR ranges into prefixes. Empty entries are
// ignored; a bad one is a fault.Invalid about "webhook_ips".
func ParseIPs(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		var p netip.Prefix
		var err error
		if strings.Contains(e, "/") {
			p, err = netip.ParsePrefix(e)
			p = p.Masked()
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(e)
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if err != nil || p.Addr().Zone() != "" {
			return nil, fault.Field(fault.Invalid, "webhook_ips", "%q is not an IP address or CIDR range", e)
		}
		out = append(out, p)
	}
	if len(out) > maxWebhookIPs {
		return nil, fault.Field(fault.Invalid, "webhook_ips", "at most %d entries", maxWebhookIPs)
	}
	return out, nil
}

// FormatIPs writes prefixes as ParseIPs reads them, comma-separated; a
// single address is written without its /32 or /128.
func FormatIPs(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		if p.IsSingleIP() {
			s[i] = p.Addr().String()
		} else {
			s[i] = p.String()
		}
	}
	return strings.Join(s, ",")
}

// validate checks c and normalises its base URL.
func (c *Config) validate() error {
	c.Name = strings.TrimSpace(c.Name)
	c.BaseURL = strings.TrimRight(strings.TrimSpace(c.BaseURL), "/")
	if !namePattern.MatchString(c.Name) {
		return fault.Field(fault.Invalid, "name", "must be 1 to 32 characters of a-z, 0-9, '_' and '-'")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fault.Field(fault.Invalid, "base_url", "must be an absolute http or https URL without query")
	}
	if c.APIKey == "" || strings.ContainsFunc(c.APIKey, isSpaceOrControl) {
		return fault.Field(fault.Invalid, "api_key", "is required, without spaces")
	}
	if c.SecretKey == "" || strings.ContainsFunc(c.SecretKey, isSpaceOrControl) {
		return fault.Field(fault.Invalid, "secret_key", "is required, without spaces")
	}
	if c.SignatureSecret != "" && !strings.HasPrefix(c.SignatureSecret, "whsec_") {
		return fault.Field(fault.Invalid, "signature_secret", "must be a whsec_… signing secret")
	}
	return nil
}

// LogValue logs c as String does, without its secrets.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// GoString keeps %#v from printing the secrets.
func (c Config) GoString() string { return "prepaid.Config{" + c.String() + "}" }

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// Sealer seals and opens secrets at rest (webhook.Keyring).
type Sealer interface {
	Seal(plaintext string) (string, error)
	Open(sealed string) (string, error)
}

// Configs stores the configured prepaid suppliers, their secrets sealed.
type Configs struct {
	db   *db.DB
	keys Sealer
	now  func() time.Time
}

// NewConfigs returns the store on d, sealing with keys.
func NewConfigs(d *db.DB, keys Sealer, now func() time.Time) *Configs {
	if now == nil {
		now = time.Now
	}
	return &Configs{db: d, keys: keys, now: now}
}

// Put adds the supplier c, or replaces the one with its name. Bad input is
// a fault.Invalid naming the field; nothing is written then.
func (s *Configs) Put(ctx context.Context, c Config) error {
	if err := c.validate(); err != nil {
		return err
	}
	var sealed [3]string
	for i, v := range []string{c.APIKey, c.SecretKey, c.SignatureSecret} {
		if v == "" {
			continue
		}
		var err error
		if sealed[i], err = s.keys.Seal(v); err != nil {
			return err
		}
	}
	now := s.now().UnixMicro()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`INSERT INTO suppliers (name, kind, base_url, api_key, secret_key, webhook_ips, signature_secret,
			signed_form, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, base_url = excluded.base_url, api_key = excluded.api_key,
			secret_key = excluded.secret_key, webhook_ips = excluded.webhook_ips, signature_secret = excluded.signature_secret,
			signed_form = excluded.signed_form, updated_at = excluded.updated_at`,
			c.Name, Kind, c.BaseURL, sealed[0], sealed[1], FormatIPs(c.WebhookIPs), sealed[2], c.SignedForm, now, now)
		return err
	})
}

const configCols = "name, base_url, api_key, secret_key, webhook_ips, signature_secret, signed_form, created_at, updated_at"

func (s *Configs) scan(row interface{ Scan(...any) error }) (Config, error) {
	var c Config
	var key, secret, ips, sig string
	var created, updated int64
	if err := row.Scan(&c.Name, &c.BaseURL, &key, &secret, &ips, &sig, &c.SignedForm, &created, &updated); err != nil {
		return Config{}, err
	}
	c.CreatedAt, c.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	var err error
	if c.WebhookIPs, err = ParseIPs(strings.Split(ips, ",")); err != nil {
		return Config{}, fmt.Errorf("supplier %s: stored webhook_ips: %w", c.Name, err)
	}
	for _, f := range []struct {
		sealed string
		dst    *string
	}{{key, &c.APIKey}, {secret, &c.SecretKey}, {sig, &c.SignatureSecret}} {
		if f.sealed == "" {
			continue
		}
		if *f.dst, err = s.keys.Open(f.sealed); err != nil {
			return Config{}, fmt.Errorf("supplier %s: %w", c.Name, err)
		}
	}
	return c, nil
}

// Get returns the supplier named name; fault.NotFound when there is none.
func (s *Configs) Get(ctx context.Context, name string) (Config, error) {
	c, err := s.scan(s.db.QueryRow(ctx, "SELECT "+configCols+" FROM suppliers WHERE name = ? AND kind = ?", name, Kind))
	if errors.Is(err, db.ErrNotFound) {
		return Config{}, fault.Field(fault.NotFound, "name", "no prepaid supplier %q", name)
	}
	return c, err
}

// List returns every configured prepaid supplier, by name.
func (s *Configs) List(ctx context.Context) ([]Config, error) {
	rows, err := s.db.Query(ctx, "SELECT "+configCols+" FROM suppliers WHERE kind = ? ORDER BY name", Kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Config
	for rows.Next() {
		c, err := s.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
