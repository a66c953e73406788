package config

import (
	"flag"
	"io"
	"net/netip"
	"testing"
	"time"
)

func TestPrecedenceDefaultEnvFlag(t *testing.T) {
	env := map[string]string{
		"KIOS_ADDR":             ":9000",
		"KIOS_RATE":             "7.5",
		"KIOS_DEMO":             "true",
		"KIOS_SHUTDOWN_TIMEOUT": "5s",
		"KIOS_TRUSTED_PROXIES":  "10.0.0.0/8, 192.168.1.1",
	}
	c := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := Register(fs, &c, func(k string) string { return env[k] }, true); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--addr", "127.0.0.1:0", "--data-dir", "/tmp/x"}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:0" {
		t.Errorf("Addr = %q: the flag must win over KIOS_ADDR", c.Addr)
	}
	if c.RatePerSec != 7.5 || !c.Demo || c.ShutdownTimeout != 5*time.Second {
		t.Errorf("environment not applied: rate %v demo %v timeout %v", c.RatePerSec, c.Demo, c.ShutdownTimeout)
	}
	if c.RateBurst != 100 || c.LogLevel != "info" {
		t.Errorf("defaults lost: burst %d level %q", c.RateBurst, c.LogLevel)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[0] != want[0] || c.TrustedProxies[1] != want[1] {
		t.Errorf("TrustedProxies = %v, want %v", c.TrustedProxies, want)
	}
	if c.DSN() != "/tmp/x/kios.db" {
		t.Errorf("DSN = %q, want the SQLite file in the data dir", c.DSN())
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestBadEnvironmentNamesTheVariable(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	err := Register(fs, &c, func(k string) string {
		if k == "KIOS_RATE_BURST" {
			return "lots"
		}
		return ""
	}, true)
	if err == nil || err.Error()[:15] != "KIOS_RATE_BURST" {
		t.Fatalf("err = %v, want one naming KIOS_RATE_BURST", err)
	}
}

var invalidConfigs = []struct {
	name string
	mod  func(c *Config)
}{
	{"mysql url", func(c *Config) { c.DatabaseURL = "mysql://x" }},
	{"log level", func(c *Config) { c.LogLevel = "loud" }},
	{"log format", func(c *Config) { c.LogFormat = "xml" }},
	{"zero rate", func(c *Config) { c.RatePerSec = 0 }},
	{"base url", func(c *Config) { c.BaseURL = "example.com" }},
	{"empty data dir", func(c *Config) { c.DataDir = "" }},
}

func TestValidateRefuses(t *testing.T) {
	for _, tc := range invalidConfigs {
		c := Default()
		tc.mod(&c)
		if c.Validate() == nil {
			t.Errorf("%s: Validate accepted it", tc.name)
		}
	}
}

func TestServeOnlySettingsStayOffOtherCommands(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	Register(fs, &c, func(string) string { return "" }, false)
	if fs.Lookup("addr") != nil || fs.Lookup("database") == nil {
		t.Fatal("non-serve commands must take --database but not --addr")
	}
}
