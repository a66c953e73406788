// Package config holds kios's one typed configuration, filled from defaults,
// then KIOS_* environment variables, then command-line flags (each later
// source wins).
package config

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of kios.
type Config struct {
	// Addr is the address kios serve listens on.
	Addr string
	// DataDir holds the embedded database, demo.json and generated keys.
	DataDir string
	// DatabaseURL is a postgres:// URL; empty means SQLite in DataDir.
	DatabaseURL string
	// BaseURL is the public URL used in invoice and payment links; empty
	// means derived from the listen address.
	BaseURL string
	// Demo loads the demo member, operator, credentials and catalog.
	Demo bool
	// WebhookAllowPrivate lets webhooks reach private and loopback
	// addresses (tests and development only).
	WebhookAllowPrivate bool
	// MasterKey encrypts secrets at rest; empty means a key file in DataDir.
	MasterKey string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is text or json.
	LogFormat string
	// RatePerSec and RateBurst are the default per-credential token bucket.
	RatePerSec float64
	RateBurst  int
	// DBMaxConns bounds the PostgreSQL connection pool.
	DBMaxConns int
	// ShutdownTimeout bounds how long a graceful shutdown waits for
	// in-flight requests and workers.
	ShutdownTimeout time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For is believed when
	// deciding a caller's IP address.
	TrustedProxies []netip.Prefix
	// Banks are the platform's destination accounts for deposits, by bank
	// code. They seed the database, where operators may change them.
	Banks []BankAccount
	// DepositMin and DepositMax bound a deposit's amount, in rupiah.
	DepositMin, DepositMax int64
	// DepositLifetime is how long an unpaid deposit waits for its money.
	DepositLifetime time.Duration
	// PaymentCodeMin and PaymentCodeMax bound the unique code added to a
	// payment invoice's amount.
	PaymentCodeMin, PaymentCodeMax int64
	// PaymentGrace is how long an expired invoice's total stays reserved
	// for it (a late payment still pays it).
	PaymentGrace time.Duration
	// PPOBWait bounds how long a PPOB transaction call waits for the
	// supplier before it answers PENDING.
	PPOBWait time.Duration
	// SessionLifetime is how long a sign-in to the web pages lasts.
	SessionLifetime time.Duration
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Addr:            ":8080",
		DataDir:         "./kios-data",
		LogLevel:        "info",
		LogFormat:       "text",
		RatePerSec:      50,
		RateBurst:       100,
		DBMaxConns:      32,
		ShutdownTimeout: 30 * time.Second,
		DepositMin:      10_000,
		DepositMax:      10_000_000,
		DepositLifetime: 24 * time.Hour,
		PaymentCodeMin:  1,
		PaymentCodeMax:  999,
		PaymentGrace:    time.Hour,
		PPOBWait:        10 * time.Second,
		SessionLifetime: 12 * time.Hour,
	}
}

// Setting describes one setting: its flag, its environment variable, its
// default and what it does. The README's configuration table lists these.
type Setting struct {
	Flag, Env, Default, Usage string
	// Serve is true for settings only kios serve uses; the others apply to
	// every subcommand that touches the database.
	Serve bool
	value func(c *Config) flag.Value
}

// Settings lists every setting, in the order the README documents them.
func Settings() []Setting {
	d := Default()
	return []Setting{
		{"data-dir", "KIOS_DATA_DIR", d.DataDir, "directory of the embedded database, demo.json and the generated master key", false,
			func(c *Config) flag.Value { return (*stringValue)(&c.DataDir) }},
		{"database", "KIOS_DATABASE_URL", "SQLite in the data directory", "postgres:// URL to run on PostgreSQL instead of SQLite", false,
			func(c *Config) flag.Value { return (*stringValue)(&c.DatabaseURL) }},
		{"db-max-conns", "KIOS_DB_MAX_CONNS", strconv.Itoa(d.DBMaxConns), "maximum PostgreSQL connections", false,
			func(c *Config) flag.Value { return (*intValue)(&c.DBMaxConns) }},
		{"log-level", "KIOS_LOG_LEVEL", d.LogLevel, "debug, info, warn or error", false,
			func(c *Config) flag.Value { return (*stringValue)(&c.LogLevel) }},
		{"log-format", "KIOS_LOG_FORMAT", d.LogFormat, "text or json", false,
			func(c *Config) flag.Value { return (*stringValue)(&c.LogFormat) }},
		{"addr", "KIOS_ADDR", d.Addr, "address to listen on", true,
			func(c *Config) flag.Value { return (*stringValue)(&c.Addr) }},
		{"base-url", "KIOS_BASE_URL", "derived from the listen address", "public base URL used in invoice, payment and QR links", true,
			func(c *Config) flag.Value { return (*stringValue)(&c.BaseURL) }},
		{"demo", "KIOS_DEMO", "false", "create the demo member, operator, credentials and catalog; write <data-dir>/demo.json", true,
			func(c *Config) flag.Value { return (*boolValue)(&c.Demo) }},
		{"webhook-allow-private", "KIOS_WEBHOOK_ALLOW_PRIVATE", "false", "let webhooks reach private and loopback addresses (tests and development only)", true,
			func(c *Config) flag.Value { return (*boolValue)(&c.WebhookAllowPrivate) }},
		{"master-key", "KIOS_MASTER_KEY", "a key file generated in the data directory", "key that encrypts webhook secrets at rest", true,
			func(c *Config) flag.Value { return (*stringValue)(&c.MasterKey) }},
		{"rate", "KIOS_RATE", formatFloat(d.RatePerSec), "default requests per second per API credential", true,
			func(c *Config) flag.Value { return (*floatValue)(&c.RatePerSec) }},
		{"rate-burst", "KIOS_RATE_BURST", strconv.Itoa(d.RateBurst), "default burst per API credential", true,
			func(c *Config) flag.Value { return (*intValue)(&c.RateBurst) }},
		{"shutdown-timeout", "KIOS_SHUTDOWN_TIMEOUT", d.ShutdownTimeout.String(), "how long a graceful shutdown waits for in-flight work", true,
			func(c *Config) flag.Value { return (*durationValue)(&c.ShutdownTimeout) }},
		{"trusted-proxies", "KIOS_TRUSTED_PROXIES", "none", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed", true,
			func(c *Config) flag.Value { return (*prefixesValue)(&c.TrustedProxies) }},
		{"banks", "KIOS_BANKS", "none (demo accounts with --demo)", "destination accounts for deposits: code=account-number:holder, comma-separated, e.g. bca=1234567890:PT Kios Digital,bni=0987654321:PT Kios Digital; they seed the database, where operators may change them", true,
			func(c *Config) flag.Value { return (*banksValue)(&c.Banks) }},
		{"deposit-min", "KIOS_DEPOSIT_MIN", strconv.FormatInt(d.DepositMin, 10), "smallest deposit, in rupiah", true,
			func(c *Config) flag.Value { return (*int64Value)(&c.DepositMin) }},
		{"deposit-max", "KIOS_DEPOSIT_MAX", strconv.FormatInt(d.DepositMax, 10), "largest deposit, in rupiah", true,
			func(c *Config) flag.Value { return (*int64Value)(&c.DepositMax) }},
		{"deposit-lifetime", "KIOS_DEPOSIT_LIFETIME", "24h", "how long an unpaid deposit waits for its money before it expires", true,
			func(c *Config) flag.Value { return (*durationValue)(&c.DepositLifetime) }},
		{"payment-code-min", "KIOS_PAYMENT_CODE_MIN", strconv.FormatInt(d.PaymentCodeMin, 10), "smallest unique code added to a payment invoice's amount", true,
			func(c *Config) flag.Value { return (*int64Value)(&c.PaymentCodeMin) }},
		{"payment-code-max", "KIOS_PAYMENT_CODE_MAX", strconv.FormatInt(d.PaymentCodeMax, 10), "largest unique code added to a payment invoice's amount", true,
			func(c *Config) flag.Value { return (*int64Value)(&c.PaymentCodeMax) }},
		{"payment-grace", "KIOS_PAYMENT_GRACE", d.PaymentGrace.String(), "how long an expired payment invoice's total stays reserved: a payment within it still pays the invoice (late)", true,
			func(c *Config) flag.Value { return (*durationValue)(&c.PaymentGrace) }},
		{"ppob-wait", "KIOS_PPOB_WAIT", d.PPOBWait.String(), "how long a PPOB transaction call waits for the supplier before it answers PENDING", true,
			func(c *Config) flag.Value { return (*durationValue)(&c.PPOBWait) }},
		{"session-lifetime", "KIOS_SESSION_LIFETIME", d.SessionLifetime.String(), "how long a sign-in to the member dashboard or the operator console lasts", true,
			func(c *Config) flag.Value { return (*durationValue)(&c.SessionLifetime) }},
	}
}

// Register fills c from the environment (through getenv) and then binds
// the settings to fs, so that parsing fs lets flags override. serve selects
// whether the serve-only settings are registered too. A malformed
// environment value is an error naming the variable.
func Register(fs *flag.FlagSet, c *Config, getenv func(string) string, serve bool) error {
	for _, s := range Settings() {
		if s.Serve && !serve {
			continue
		}
		v := s.value(c)
		if env := getenv(s.Env); env != "" {
			if err := v.Set(env); err != nil {
				return fmt.Errorf("%s: %v", s.Env, err)
			}
		}
		fs.Var(v, s.Flag, s.Usage)
	}
	return nil
}

// DSN returns the database to open: DatabaseURL, or the SQLite file in
// DataDir.
func (c Config) DSN() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "kios.db")
}

// Validate checks the settings that can be wrong.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("--database must be a postgres:// URL (leave it empty for SQLite)"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if c.RatePerSec <= 0 || c.RateBurst <= 0 {
		errs = append(errs, errors.New("--rate and --rate-burst must be positive"))
	}
	if c.DBMaxConns <= 0 {
		errs = append(errs, errors.New("--db-max-conns must be positive"))
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		errs = append(errs, errors.New("--base-url must start with http:// or https://"))
	}
	if c.DepositMin <= 0 || c.DepositMax < c.DepositMin {
		errs = append(errs, errors.New("--deposit-min must be positive and --deposit-max at least --deposit-min"))
	}
	if c.PaymentCodeMin < 0 || c.PaymentCodeMax > 99_999 || c.PaymentCodeMin > c.PaymentCodeMax {
		errs = append(errs, errors.New("--payment-code-min and --payment-code-max must satisfy 0 ≤ min ≤ max ≤ 99999"))
	}
	if c.PaymentGrace < 0 {
		errs = append(errs, errors.New("--payment-grace must not be negative"))
	}
	if c.DepositLifetime <= 0 {
		errs = append(errs, errors.New("--deposit-lifetime must be positive"))
	}
	if c.PPOBWait < 0 || c.PPOBWait > time.Minute {
		errs = append(errs, errors.New("--ppob-wait must be between 0 and 1m"))
	}
	if c.SessionLifetime < time.Minute {
		errs = append(errs, errors.New("--session-lifetime must be at least 1m"))
	}
	return errors.Join(errs...)
}

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = intValue(n)
	return nil
}

type floatValue float64

func (v *floatValue) String() string { return formatFloat(float64(*v)) }
func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*v = floatValue(f)
	return nil
}

type boolValue bool

func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v = boolValue(b)
	return nil
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 30s", s)
	}
	*v = durationValue(d)
	return nil
}

type prefixesValue []netip.Prefix

func (v *prefixesValue) String() string {
	parts := make([]string, len(*v))
	for i, p := range *v {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func (v *prefixesValue) Set(s string) error {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := ParsePrefix(part)
		if err != nil {
			return err
		}
		out = append(out, p)
	}
	*v = out
	return nil
}

// ParsePrefix accepts a CIDR or a single address (a /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("%q is not an address or CIDR", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
