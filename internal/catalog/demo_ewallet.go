package catalog

import (
	"context"
	"fmt"

	"kios/internal/fault"
)

// The demo e-wallets' admin fee by level (member, reseller, h2h) and the
// simulators' fees: a reseller's Rp 50.000 GoPay top-up costs Rp 51.500, as
// in the reference's example.
var (
	demoEwalletFees = map[string]int64{"member": 2_000, "reseller": 1_500, "h2h": 1_000}
	demoEwallets    = []struct{ code, name, operator string }{
		{"GOPAY", "Top-up GoPay via nomor HP", "GoPay"},
		{"OVO", "Top-up OVO via nomor HP", "OVO"},
		{"DANA", "Top-up DANA via nomor HP", "DANA"},
		{"SHOPEEPAY", "Top-up ShopeePay", "ShopeePay"},
		{"LINKAJA", "Top-up LinkAja", "LinkAja"},
	}
)

// LoadDemoEwallets makes the demo e-wallet products exist: GOPAY, OVO, DANA,
// SHOPEEPAY and LINKAJA, each under a provider named for its operator
// (code EWALLET-<code>), for amounts from Rp 1.000 to Rp 2.000.000 to an
// Indonesian mobile number, delivered by "simulator" (fee Rp 1.000) and
// failing over to "simulator-b" (fee Rp 1.200). What already exists, by
// code, is left as it is.
func LoadDemoEwallets(ctx context.Context, s *Store) error {
	for i, w := range demoEwallets {
		prov := "EWALLET-" + w.code
		if _, err := s.ProviderByCode(ctx, prov); fault.CodeOf(err) == fault.NotFound {
			if _, err := s.AddProvider(ctx, NewProvider{Code: prov, Name: w.operator, Active: true, Icon: "ewallet.png", Position: int64(100 + i),
				Forms: []Field{{Label: "Nomor HP", Key: "cust_id", Type: Text, Pattern: `08[0-9]{8,11}`, MaxLength: 13}}}); err != nil && fault.CodeOf(err) != fault.Conflict {
				return fmt.Errorf("demo e-wallet provider %s: %w", prov, err)
			}
		} else if err != nil {
			return err
		}
		if _, err := s.Ewallet(ctx, w.code); fault.CodeOf(err) != fault.NotFound {
			if err != nil {
				return err
			}
			continue
		}
		if _, err := s.AddEwallet(ctx, NewEwallet{Code: w.code, Name: w.name, Provider: prov, Active: true,
			MinAmount: 1_000, MaxAmount: 2_000_000, CustomerRule: RuleMSISDN, Fees: demoEwalletFees,
			SKUs: []SKU{
				{Supplier: "simulator", SKU: "EW-" + w.code, Priority: 1, Cost: 1_000, Active: true},
				{Supplier: "simulator-b", SKU: "B-EW-" + w.code, Priority: 2, Cost: 1_200, Active: true},
			}}); err != nil && fault.CodeOf(err) != fault.Conflict {
			return fmt.Errorf("demo e-wallet %s: %w", w.code, err)
		}
	}
	return nil
}
