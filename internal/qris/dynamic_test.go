package qris

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestToDynamic(t *testing.T) {
	for _, v := range payloadVectors {
		got, err := ToDynamicWithTip(v.static, v.amount, v.tip)
		if err != nil || got != v.dynamic {
			t.Errorf("%s: ToDynamicWithTip(%d, %+v) =\n%s, %v\nwant\n%s", v.name, v.amount, v.tip, got, err, v.dynamic)
		}
		if v.tip == (Tip{}) {
			if got, err := ToDynamic(v.static, v.amount); err != nil || got != v.dynamic {
				t.Errorf("%s: ToDynamic(%d) = %s, %v", v.name, v.amount, got, err)
			}
		}
	}
}

// trap is a merchant name holding text that a string replacement would
// mistake for data objects.
const trap = "Toko 010211 5802ID 63041"

// dynamicPlacements are static payloads and the dynamic payloads ToDynamic
// must make of them: where 54 and the tip go, what is dropped.
var dynamicPlacements = []struct {
	name   string
	static string
	amount int64
	tip    Tip
	want   string
}{
	{
		"old amount and fee dropped",
		mutate(static1, all(set("54", "99"), set("55", "02"), set("56", "5"))),
		50000, Tip{},
		payloadVectors[0].dynamic,
	},
	{
		"no 58: before the first ID above 54",
		mutate(static1, del("58")),
		50000, Tip{},
		mutate(payloadVectors[0].dynamic, del("58")),
	},
	{
		"nothing above 54: at the end",
		mutate(static1, all(del("58"), del("59"), del("60"), del("61"))),
		50000, Tip{},
		mutate(payloadVectors[0].dynamic, all(del("58"), del("59"), del("60"), del("61"))),
	},
	{
		"58 after 59: just before 58",
		mutate(static1, func(p *Payload) { (*p)[6], (*p)[7] = (*p)[7], (*p)[6] }),
		50000, Tip{},
		mutate(payloadVectors[0].dynamic, func(p *Payload) {
			// 00 01 26 51 52 53 54 58 59 … becomes 00 01 26 51 52 53 59 54 58 …
			(*p)[6], (*p)[7], (*p)[8] = (*p)[8], (*p)[6], (*p)[7]
		}),
	},
	{
		"lookalike text in the name",
		mutate(static1, set("59", trap)),
		50000, Tip{},
		mutate(payloadVectors[0].dynamic, set("59", trap)),
	},
	{
		"tip prompt",
		static1,
		50000, Tip{Kind: TipPrompt},
		mutate(payloadVectors[0].dynamic, set("55", "01")),
	},
	{
		"percentage fee",
		static1,
		50000, Tip{Kind: TipPercent, Percent: "2.5"},
		mutate(payloadVectors[0].dynamic, all(set("55", "03"), set("57", "2.5"))),
	},
	{
		"largest amount",
		static1,
		MaxAmount, Tip{},
		mutate(payloadVectors[0].dynamic, set("54", "9999999999999")),
	},
	{
		"smallest amount",
		static1,
		1, Tip{},
		mutate(payloadVectors[0].dynamic, set("54", "1")),
	},
}

func TestToDynamicPlacement(t *testing.T) {
	for _, c := range dynamicPlacements {
		got, err := ToDynamicWithTip(c.static, c.amount, c.tip)
		if err != nil || got != c.want {
			t.Errorf("%s: ToDynamicWithTip =\n%s, %v\nwant\n%s", c.name, got, err, c.want)
		}
	}
}

// dynamicRefusals are calls ToDynamic must refuse with an error of kind
// about ID tag.
var dynamicRefusals = []struct {
	name   string
	static string
	amount int64
	tip    Tip
	kind   error
	tag    string
}{
	{"already dynamic", payloadVectors[0].dynamic, 50000, Tip{}, ErrNotStatic, "01"},
	{"already dynamic, fixed fee", payloadVectors[2].dynamic, 50000, Tip{}, ErrNotStatic, "01"},
	{"CRC does not check", body(static1) + "6304" + "58C8", 50000, Tip{}, ErrCRC, "63"},
	{"00 not first", mutate(static1, func(p *Payload) { (*p)[0], (*p)[1] = (*p)[1], (*p)[0] }), 50000, Tip{}, ErrOrder, "01"},
	{"does not parse to the end", static1 + "5", 50000, Tip{}, ErrSyntax, ""},
	{"invalid static", mutate(static1, set("53", "840")), 50000, Tip{}, ErrValue, "53"},
	{"amount zero", static1, 0, Tip{}, ErrAmount, "54"},
	{"amount negative", static1, -50000, Tip{}, ErrAmount, "54"},
	{"amount of 14 digits", static1, MaxAmount + 1, Tip{}, ErrAmount, "54"},
	{"fixed fee zero", static1, 50000, Tip{Kind: TipFixed}, ErrAmount, "56"},
	{"fixed fee of 14 digits", static1, 50000, Tip{Kind: TipFixed, Fixed: MaxAmount + 1}, ErrAmount, "56"},
	{"percentage not a number", static1, 50000, Tip{Kind: TipPercent, Percent: "2,5"}, ErrAmount, "57"},
	{"percentage empty", static1, 50000, Tip{Kind: TipPercent}, ErrAmount, "57"},
	{"tip kind unknown", static1, 50000, Tip{Kind: "04"}, ErrAmount, "55"},
	{"result too long", mutate(static1, grow(MaxLen-len(static1))), 50000, Tip{}, ErrTooLong, ""},
}

func TestToDynamicRefusals(t *testing.T) {
	for _, c := range dynamicRefusals {
		got, err := ToDynamicWithTip(c.static, c.amount, c.tip)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, c.kind) || e.Tag != c.tag || got != "" {
			t.Errorf("%s: ToDynamicWithTip = %q, %v; want %v about ID %q", c.name, got, err, c.kind, c.tag)
		}
	}
}

// TestToDynamicProperty makes dynamic payloads from many random static
// payloads, amounts and tips, and checks each against the rules.
func TestToDynamicProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 360))
	for i := range 5000 {
		static := payloadVectors[i%len(payloadVectors)].static
		if i%4 != 0 {
			static = randomStatic(rng)
		}
		amount := randomAmount(rng)
		tip := randomTip(rng)
		out, err := ToDynamicWithTip(static, amount, tip)
		if errors.Is(err, ErrTooLong) {
			continue
		}
		if err != nil {
			t.Fatalf("ToDynamicWithTip(%s, %d, %+v): %v", static, amount, tip, err)
		}
		checkDynamic(t, static, amount, tip, out)
	}
}

// checkDynamic checks that out is the dynamic payload for static, amount and
// tip: valid, dynamic, with the right 54 to 57 and all other objects kept.
func checkDynamic(t *testing.T, static string, amount int64, tip Tip, out string) {
	t.Helper()
	if err := Validate(out); err != nil {
		t.Fatalf("Validate(%s) = %v", out, err)
	}
	p, _ := Parse(out)
	if !p.IsDynamic() {
		t.Fatalf("%s is not dynamic", out)
	}
	if v, _ := p.Get(TagAmount); v != strconv.FormatInt(amount, 10) {
		t.Fatalf("%s: amount %q, want %d", out, v, amount)
	}
	want := map[string]string{}
	switch tip.Kind {
	case TipPrompt:
		want[TagTip] = "01"
	case TipFixed:
		want[TagTip], want[TagFixedFee] = "02", strconv.FormatInt(tip.Fixed, 10)
	case TipPercent:
		want[TagTip], want[TagPercentFee] = "03", tip.Percent
	}
	for _, tag := range []string{TagTip, TagFixedFee, TagPercentFee} {
		got, ok := p.Get(tag)
		if w, wok := want[tag]; got != w || ok != wok {
			t.Fatalf("%s: ID %s = %q, want %q", out, tag, got, w)
		}
	}
	// 54 and the tip come right before 58, or before the first ID above 54.
	i := p.Index(TagAmount)
	next := i + 1 + len(want)
	if p[next].Tag != TagCountry && p.Index(TagCountry) >= 0 {
		t.Fatalf("%s: 54 is not just before 58", out)
	}
	for _, f := range p[:i] {
		if f.Tag > TagAmount && p.Index(TagCountry) < 0 {
			t.Fatalf("%s: ID %s above 54 comes before 54", out, f.Tag)
		}
	}
	// Every other object is kept, in order.
	keep := func(s string) Payload {
		q, _ := Parse(s)
		var out Payload
		for _, f := range q {
			switch f.Tag {
			case TagInitiation, TagAmount, TagTip, TagFixedFee, TagPercentFee, TagCRC:
			default:
				out = append(out, f)
			}
		}
		return out
	}
	if a, b := keep(static), keep(out); !reflect.DeepEqual(a, b) {
		t.Fatalf("objects changed:\nstatic  %q\ndynamic %q", a, b)
	}
}

func randomAmount(rng *rand.Rand) int64 {
	digits := 1 + rng.IntN(13)
	n := int64(1)
	for range digits - 1 {
		n *= 10
	}
	return n + rng.Int64N(n*9) // digits digits long, at least 1
}

func randomTip(rng *rand.Rand) Tip {
	switch rng.IntN(4) {
	case 1:
		return Tip{Kind: TipPrompt}
	case 2:
		return Tip{Kind: TipFixed, Fixed: randomAmount(rng)}
	case 3:
		return Tip{Kind: TipPercent, Percent: strconv.Itoa(rng.IntN(100)) + []string{"", ".5", ".25"}[rng.IntN(3)]}
	}
	return Tip{}
}

// randomText returns 1 to max characters mixing letters with text that looks
// like data objects.
func randomText(rng *rand.Rand, max int) string {
	pieces := []string{"a", "Z", " ", ".", "0", "9", "010211", "5802ID", "6304", "5405", "12"}
	var b strings.Builder
	n := 1 + rng.IntN(max)
	for b.Len() < n {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()[:n]
}

func randomDigits(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + rng.IntN(10))
	}
	return string(b)
}

// randomStatic returns a valid static payload with a random choice of
// objects, in a random order between 00 and 63.
func randomStatic(rng *rand.Rand) string {
	var mid Payload
	add := func(tag, value string) { mid = append(mid, Field{tag, value}) }
	if rng.IntN(2) == 0 {
		add(strconv.Itoa(26+rng.IntN(25)), "0011ID.DANA.WWW0118"+randomDigits(rng, 18))
	}
	add(TagQRIS, "0014ID.CO.QRIS.WWW0215"+randomText(rng, 1)+randomDigits(rng, 14)+"0303"+
		[]string{"UMI", "UKE", "UME", "UBE", "URE"}[rng.IntN(5)])
	add(TagMCC, randomDigits(rng, 4))
	add(TagCurrency, "360")
	if rng.IntN(4) != 0 {
		add(TagCountry, "ID")
	}
	add(TagMerchantName, randomText(rng, 25))
	add(TagCity, randomText(rng, 15))
	if rng.IntN(2) == 0 {
		add(TagPostalCode, randomDigits(rng, 5))
	}
	if rng.IntN(2) == 0 {
		add(TagAdditional, "0703"+randomText(rng, 1)+"01")
	}
	if rng.IntN(4) == 0 {
		add(TagAmount, strconv.FormatInt(randomAmount(rng), 10))
	}
	if rng.IntN(4) == 0 {
		add(TagTip, "01")
	}
	for range rng.IntN(3) {
		add(strconv.Itoa(64+rng.IntN(36)), randomText(rng, 60))
	}
	// Unknown IDs may repeat the ones drawn above; keep the first of each.
	seen := map[string]bool{}
	uniq := mid[:0]
	for _, f := range mid {
		if !seen[f.Tag] {
			seen[f.Tag] = true
			uniq = append(uniq, f)
		}
	}
	rng.Shuffle(len(uniq), func(i, j int) { uniq[i], uniq[j] = uniq[j], uniq[i] })
	p := append(Payload{{TagFormat, "01"}, {TagInitiation, Static}}, uniq...)
	s, err := p.Sign()
	if err != nil {
		panic(err)
	}
	if err := Validate(s); err != nil && !errors.Is(err, ErrTooLong) {
		panic(err)
	}
	return s
}

func BenchmarkToDynamic(b *testing.B) {
	for b.Loop() {
		if _, err := ToDynamic(static1, 10387); err != nil {
			b.Fatal(err)
		}
	}
}
