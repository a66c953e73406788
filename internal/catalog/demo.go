package catalog

import (
	"context"
	"fmt"
	"strings"

	"kios/internal/fault"
)

// The demo's markup rules, in basis points over cost, for products without
// explicit prices: member 5 %, reseller 3 %, h2h 1.5 %.
var demoRules = []Rule{
	{Level: "member", PercentBP: 500},
	{Level: "reseller", PercentBP: 300},
	{Level: "h2h", PercentBP: 150},
}

// demoItem is one demo product: its code suffix, name, cost on the
// "simulator" supplier, optional cost on "simulator-b" (priority 2, for
// failover), optional explicit prices (member, reseller, h2h) and whether it
// is switched off.
type demoItem struct {
	suffix, name string
	cost, costB  int64
	prices       [3]int64
	off          bool
}

type demoProvider struct {
	p     NewProvider
	sku   string // prefix of the suppliers' SKU codes
	items []demoItem
}

func demoCatalog() []demoProvider {
	text := func(label, key string) Field { return Field{Label: label, Key: key, Type: Text} }
	return []demoProvider{
		{NewProvider{Code: "MLBB-BJ-V3-ALL", Name: "Mobile Legends", Active: true, Icon: "mlbb.png", Position: 1,
			Forms: []Field{text("User ID", "id"), text("Zone ID", "server")}}, "ML",
			[]demoItem{
				{"MLBB_ID_5", "5 Diamonds", 1_360, 1_390, [3]int64{1_480, 1_425, 1_399}, false},
				{"MLBB_ID_10", "10 Diamonds", 2_750, 2_790, [3]int64{}, false},
				{"MLBB_ID_12", "12 Diamonds", 3_290, 0, [3]int64{}, false},
				{"MLBB_ID_19", "19 Diamonds", 5_180, 0, [3]int64{}, false},
				{"MLBB_ID_28", "28 Diamonds", 7_620, 0, [3]int64{}, false},
				{"MLBB_ID_44", "44 Diamonds", 11_950, 12_100, [3]int64{}, false},
				{"MLBB_ID_59", "59 Diamonds", 15_980, 0, [3]int64{}, false},
				{"MLBB_ID_85", "85 Diamonds", 22_850, 0, [3]int64{}, false},
				{"MLBB_ID_170", "170 Diamonds", 45_700, 46_200, [3]int64{}, false},
				{"MLBB_ID_240", "240 Diamonds", 64_300, 0, [3]int64{}, false},
				{"MLBB_ID_296", "296 Diamonds", 79_200, 0, [3]int64{}, false},
				{"MLBB_ID_408", "408 Diamonds", 108_900, 0, [3]int64{}, false},
				{"MLBB_ID_568", "568 Diamonds", 151_500, 0, [3]int64{}, false},
				{"MLBB_ID_875", "875 Diamonds", 232_000, 0, [3]int64{}, false},
				{"MLBB_ID_2010", "2010 Diamonds", 526_000, 0, [3]int64{}, false},
				{"MLBB_WDP", "Weekly Diamond Pass", 27_400, 0, [3]int64{}, false},
				{"MLBB_TP", "Twilight Pass", 138_000, 0, [3]int64{}, true},
			}},
		{NewProvider{Code: "FFMAX-BJ-V3", Name: "Free Fire MAX", Active: true, Icon: "freefire.png", Position: 2,
			Forms: []Field{text("Player ID", "id")}}, "FF",
			[]demoItem{
				{"FFMAX_ID_5", "5 Diamonds", 870, 0, [3]int64{}, true},
				{"FFMAX_ID_10", "10 Diamonds", 1_809, 1_830, [3]int64{}, false},
				{"FFMAX_ID_20", "20 Diamonds", 3_600, 0, [3]int64{}, false},
				{"FFMAX_ID_50", "50 Diamonds", 7_300, 0, [3]int64{}, false},
				{"FFMAX_ID_70", "70 Diamonds", 9_050, 0, [3]int64{}, false},
				{"FFMAX_ID_100", "100 Diamonds", 14_448, 14_600, [3]int64{}, false},
				{"FFMAX_ID_140", "140 Diamonds", 18_067, 18_300, [3]int64{}, false},
				{"FFMAX_ID_210", "210 Diamonds", 27_100, 0, [3]int64{}, false},
				{"FFMAX_ID_355", "355 Diamonds", 45_500, 0, [3]int64{}, false},
				{"FFMAX_ID_720", "720 Diamonds", 90_800, 0, [3]int64{}, false},
				{"FFMAX_ID_1000", "1000 Diamonds", 126_388, 0, [3]int64{}, false},
				{"FFMAX_MM", "Membership Mingguan", 27_300, 0, [3]int64{}, false},
				{"FFMAX_MB", "Membership Bulanan", 81_500, 0, [3]int64{}, false},
			}},
		{NewProvider{Code: "AKV-BJ", Name: "Astra Knights of Veda", Active: true, Icon: "akv.png", Position: 3,
			Forms: []Field{text("UID", "id"), {Label: "Server", Key: "server", Type: Dropdown, Options: []Option{
				{Name: "AMERICAS", Code: "10040400"},
				{Name: "KR / JP / TW", Code: "10040300"},
				{Name: "SEA / OCE", Code: "10040200"},
			}}}}, "AKV",
			[]demoItem{
				{"AKV_60", "60 Diamonds", 14_200, 0, [3]int64{}, false},
				{"AKV_300", "300 Diamonds", 70_500, 0, [3]int64{}, false},
				{"AKV_980", "980 Diamonds", 225_000, 0, [3]int64{}, false},
				{"AKV_1980", "1980 Diamonds", 450_000, 0, [3]int64{}, false},
			}},
		{NewProvider{Code: "TSEL-PULSA", Name: "Pulsa Telkomsel", Active: true, Icon: "telkomsel.png", Position: 4,
			Forms: []Field{{Label: "Nomor HP", Key: "phone", Type: Text, Pattern: `08[0-9]{8,11}`, MaxLength: 13}}}, "S",
			[]demoItem{
				{"-5", "5.000 Pulsa Reguler", 5_350, 0, [3]int64{5_900, 5_650, 5_520}, false},
				{"-10", "10.000 Pulsa Reguler", 10_300, 10_380, [3]int64{10_900, 10_650, 10_500}, false},
				{"-15", "15.000 Pulsa Reguler", 15_250, 0, [3]int64{15_900, 15_600, 15_450}, true},
				{"-20", "20.000 Pulsa Reguler", 20_150, 0, [3]int64{20_900, 20_550, 20_350}, false},
				{"-25", "25.000 Pulsa Reguler", 25_100, 0, [3]int64{25_900, 25_500, 25_300}, false},
				{"-50", "50.000 Pulsa Reguler", 49_850, 49_950, [3]int64{50_900, 50_400, 50_150}, false},
				{"-100", "100.000 Pulsa Reguler", 98_900, 0, [3]int64{100_500, 99_800, 99_400}, false},
			}},
		{NewProvider{Code: "PLN-TOKEN", Name: "Token PLN", Active: true, Icon: "pln.png", Position: 5,
			Forms: []Field{{Label: "Nomor Meter / ID Pelanggan", Key: "meter", Type: Text, Pattern: `[0-9]{11,12}`, MaxLength: 12}}}, "PLN",
			[]demoItem{
				{"-20", "Token PLN 20.000", 20_400, 0, [3]int64{21_500, 21_000, 20_750}, false},
				{"-50", "Token PLN 50.000", 50_400, 0, [3]int64{51_500, 51_000, 50_750}, false},
				{"-100", "Token PLN 100.000", 100_400, 0, [3]int64{101_500, 101_000, 100_750}, false},
				{"-200", "Token PLN 200.000", 200_400, 0, [3]int64{201_500, 201_000, 200_750}, false},
				{"-500", "Token PLN 500.000", 500_400, 0, [3]int64{501_500, 501_000, 500_750}, false},
				{"-1000", "Token PLN 1.000.000", 1_000_400, 0, [3]int64{1_001_500, 1_001_000, 1_000_750}, true},
			}},
		{NewProvider{Code: "PUBGM-BJ", Name: "PUBG Mobile", Active: false, Icon: "pubgm.png", Position: 6,
			Forms: []Field{text("Player ID", "id")}}, "PUBG",
			[]demoItem{
				{"PUBGM_UC_60", "60 UC", 14_300, 0, [3]int64{}, false},
				{"PUBGM_UC_325", "325 UC", 71_200, 0, [3]int64{}, false},
				{"PUBGM_UC_660", "660 UC", 142_000, 0, [3]int64{}, false},
			}},
	}
}

// demoLevels are the levels of demoItem.prices, in order.
var demoLevels = [3]string{"member", "reseller", "h2h"}

// LoadDemo makes the demo catalog exist: six providers (Mobile Legends,
// Free Fire MAX, Astra Knights of Veda with a server dropdown, Telkomsel
// pulsa and PLN tokens with patterns, and PUBG Mobile switched off), fifty
// products (four switched off) with SKUs on the "simulator" supplier and,
// for a few, a second on "simulator-b", and a markup rule for each level
// that has none. Whatever already exists, by code, is left as it is, so
// running it again (or from two processes at once) changes nothing.
func LoadDemo(ctx context.Context, s *Store) error {
	for _, dp := range demoCatalog() {
		if _, err := s.ProviderByCode(ctx, dp.p.Code); fault.CodeOf(err) == fault.NotFound {
			if _, err := s.AddProvider(ctx, dp.p); err != nil && fault.CodeOf(err) != fault.Conflict {
				return fmt.Errorf("demo provider %s: %w", dp.p.Code, err)
			}
		} else if err != nil {
			return err
		}
		for _, it := range dp.items {
			np := NewProduct{
				Code:     dp.p.Code + it.suffix,
				Name:     it.name,
				Provider: dp.p.Code,
				Active:   !it.off,
				SKUs:     []SKU{{Supplier: "simulator", SKU: dp.sku + skuSuffix(it), Priority: 1, Cost: it.cost, Active: true}},
			}
			if it.costB > 0 {
				np.SKUs = append(np.SKUs, SKU{Supplier: "simulator-b", SKU: "B-" + dp.sku + skuSuffix(it), Priority: 2, Cost: it.costB, Active: true})
			}
			if it.prices[0] > 0 {
				np.Prices = map[string]int64{}
				for i, l := range demoLevels {
					np.Prices[l] = it.prices[i]
				}
			}
			if _, err := s.Product(ctx, np.Code, ""); fault.CodeOf(err) != fault.NotFound {
				if err != nil {
					return err
				}
				continue
			}
			if _, err := s.AddProduct(ctx, np); err != nil && fault.CodeOf(err) != fault.Conflict {
				return fmt.Errorf("demo product %s: %w", np.Code, err)
			}
		}
	}
	rules, err := s.Rules(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, r := range rules {
		have[r.Level] = true
	}
	for _, r := range demoRules {
		if have[r.Level] {
			continue
		}
		if err := s.SetRule(ctx, r.Level, r.PercentBP, r.Flat); err != nil {
			return fmt.Errorf("demo rule %s: %w", r.Level, err)
		}
	}
	return nil
}

// skuSuffix derives a short supplier code from a demo item: the digits of
// its code suffix ("MLBB_ID_5" → "5"), or the part after its last '_'
// ("MLBB_WDP" → "WDP").
func skuSuffix(it demoItem) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, it.suffix)
	if digits != "" {
		return digits
	}
	return it.suffix[strings.LastIndexByte(it.suffix, '_')+1:]
}
