package config

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseBanks(t *testing.T) {
	got, err := ParseBanks("bca=1234567890:PT Kios Digital, BNI = 0987654321 : PT Kios Digital, Tbk ,mandiri=1230009876543:Budi")
	want := []BankAccount{
		{"bca", "1234567890", "PT Kios Digital"},
		{"bni", "0987654321", "PT Kios Digital, Tbk"},
		{"mandiri", "1230009876543", "Budi"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseBanks = %+v, %v\nwant %+v", got, err, want)
	}
	if got, err := ParseBanks(""); err != nil || got != nil {
		t.Fatalf("empty: %+v, %v", got, err)
	}
	for _, bad := range []string{
		"bca", "bca=123456", "bca=12ab567:X", "bca=1234567890:", "qris=1234567890:X",
		"bca=1234567890:X,bca=1234567891:Y", "b=1234567890:X", "bca=1234:X",
		"bca=1234567890:" + strings.Repeat("x", 65),
	} {
		if _, err := ParseBanks(bad); err == nil {
			t.Errorf("ParseBanks(%q) accepted it", bad)
		}
	}
}

func TestDepositSettings(t *testing.T) {
	c := Default()
	if c.DepositMin != 10_000 || c.DepositMax != 10_000_000 || c.DepositLifetime != 24*time.Hour {
		t.Fatalf("defaults: %d %d %v", c.DepositMin, c.DepositMax, c.DepositLifetime)
	}
	env := map[string]string{"KIOS_BANKS": "bca=1234567890:PT Kios Digital", "KIOS_DEPOSIT_MIN": "20000"}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := Register(fs, &c, func(k string) string { return env[k] }, true); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--deposit-max", "5000000", "--deposit-lifetime", "2h"}); err != nil {
		t.Fatal(err)
	}
	if len(c.Banks) != 1 || c.Banks[0].Holder != "PT Kios Digital" || c.DepositMin != 20_000 ||
		c.DepositMax != 5_000_000 || c.DepositLifetime != 2*time.Hour {
		t.Fatalf("settings not applied: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	err := Register(flag.NewFlagSet("t", flag.ContinueOnError), &c, func(k string) string {
		if k == "KIOS_BANKS" {
			return "bca=nope:X"
		}
		return ""
	}, true)
	if err == nil || !strings.HasPrefix(err.Error(), "KIOS_BANKS") {
		t.Fatalf("bad KIOS_BANKS: %v", err)
	}
	for _, mod := range []func(c *Config){
		func(c *Config) { c.DepositMin = 0 },
		func(c *Config) { c.DepositMax = c.DepositMin - 1 },
		func(c *Config) { c.DepositLifetime = 0 },
	} {
		c := Default()
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("Validate accepted %+v", c)
		}
	}
}
