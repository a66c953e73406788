package qris

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// static1 is the first static vector, the base most hand-made cases start
// from.
var static1 = payloadVectors[0].static

// mutate parses s, lets change edit it, and signs the result with a fresh
// CRC. It panics on a bad s, which only a broken test can pass.
func mutate(s string, change func(p *Payload)) string {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	change(&p)
	out, err := p.Sign()
	if err != nil {
		panic(err)
	}
	return out
}

// body returns s without its last eight characters, the CRC object.
func body(s string) string { return s[:len(s)-8] }

func TestCRC(t *testing.T) {
	for _, c := range crcVectors {
		if got := CRC(c.in); got != c.want {
			t.Errorf("CRC(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, v := range payloadVectors {
		if got := CRC(v.static[:len(v.static)-4]); got != v.crc {
			t.Errorf("%s: CRC of static = %s, want %s", v.name, got, v.crc)
		}
		if got := AppendCRC(body(v.static)); got != v.static {
			t.Errorf("%s: AppendCRC(body) = %s, want the static vector", v.name, got)
		}
		if got := AppendCRC(body(v.dynamic)); got != v.dynamic {
			t.Errorf("%s: AppendCRC(body) = %s, want the dynamic vector", v.name, got)
		}
	}
}

func TestVerifyCRC(t *testing.T) {
	for _, v := range payloadVectors {
		for _, s := range []string{v.static, v.dynamic} {
			if err := VerifyCRC(s); err != nil {
				t.Errorf("%s: VerifyCRC(%s) = %v", v.name, s, err)
			}
		}
	}
	bad := []string{
		"",
		"6304",
		strings.TrimSuffix(static1, "58C7") + "58C8",
		strings.TrimSuffix(static1, "58C7") + "58c7", // lower case
		strings.Replace(static1, "Sayur", "Sayor", 1),
		body(static1) + "6305" + "58C7",
	}
	for _, s := range bad {
		if err := VerifyCRC(s); !errors.Is(err, ErrCRC) {
			t.Errorf("VerifyCRC(%q) = %v, want ErrCRC", s, err)
		}
	}
}

func TestParseVector(t *testing.T) {
	p, err := Parse(static1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, parsedVector) {
		t.Errorf("Parse = %q\nwant %q", p, parsedVector)
	}
}

func TestParseRoundTrip(t *testing.T) {
	all := []string{crcVectors[3].in + crcVectors[3].want}
	for _, v := range payloadVectors {
		all = append(all, v.static, v.dynamic)
	}
	for _, s := range all {
		p, err := Parse(s)
		if err != nil {
			t.Errorf("Parse(%s): %v", s, err)
			continue
		}
		out, err := p.Encode()
		if err != nil || out != s {
			t.Errorf("Encode(Parse(%s)) = %s, %v", s, out, err)
		}
		for _, f := range p {
			if !isTemplate(f.Tag) {
				continue
			}
			sub, err := p.Template(f.Tag)
			if err != nil {
				t.Errorf("%s: template %s: %v", s, f.Tag, err)
				continue
			}
			if out, err := sub.Encode(); err != nil || out != f.Value {
				t.Errorf("%s: template %s round trip = %s, %v", s, f.Tag, out, err)
			}
		}
	}
	for _, v := range payloadVectors {
		p, _ := Parse(v.static)
		var tags []string
		for _, f := range p {
			tags = append(tags, f.Tag)
		}
		if !reflect.DeepEqual(tags, v.tags) {
			t.Errorf("%s: IDs %v, want %v", v.name, tags, v.tags)
		}
	}
}

// parseErrors are inputs that are not a run of data objects, with the path
// and offset the error must name.
var parseErrors = []struct {
	in     string
	tag    string
	offset int
}{
	{"", "", 0},
	{"000", "", 0},            // shorter than ID and length
	{"00020101", "", 6},       // two characters left over
	{"0A0201", "", 0},         // ID not digits
	{"00020101A211", "01", 8}, // length not digits
	{"0 020101", "", 0},       // space in the ID
	{"00 20101", "00", 2},     // space in the length
	{"000-1X", "00", 2},       // sign in the length
	{"0000", "00", 2},         // length 00
	{"00020101021", "01", 10}, // value runs past the end
	{static1[:len(static1)-1], "63", len(static1) - 4},
	{"0002010199" + strings.Repeat("x", 98), "01", 10}, // 99 characters announced, 98 given
}

func TestParseErrors(t *testing.T) {
	for _, c := range parseErrors {
		_, err := Parse(c.in)
		var e *Error
		if !errors.As(err, &e) || e.Kind != ErrSyntax || e.Tag != c.tag || e.Offset != c.offset {
			t.Errorf("Parse(%q) = %v, want ErrSyntax at ID %q offset %d", c.in, err, c.tag, c.offset)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, p := range []Payload{
		{{"0", "01"}},
		{{"ab", "01"}},
		{{"00", ""}},
		{{"00", "01"}, {"59", strings.Repeat("x", 100)}},
	} {
		if s, err := p.Encode(); !errors.Is(err, ErrSyntax) {
			t.Errorf("Encode(%q) = %q, %v; want ErrSyntax", p, s, err)
		}
	}
	p := Payload{{"00", "01"}, {"59", strings.Repeat("x", 99)}}
	if s, err := p.Encode(); err != nil || s != "000201"+"5999"+strings.Repeat("x", 99) {
		t.Errorf("Encode of a 99-character value = %q, %v", s, err)
	}
}

func TestGetSet(t *testing.T) {
	p, _ := Parse(static1)
	if v, ok := p.Get(TagMerchantName); !ok || v != "Warung Sayur Bu Sugeng" {
		t.Errorf("Get(59) = %q, %v", v, ok)
	}
	if _, ok := p.Get(TagAmount); ok {
		t.Error("Get(54) found an amount in a static payload")
	}
	if v, ok := p.GetSub(TagQRIS, "02"); !ok || v != "ID1020017611473" {
		t.Errorf("GetSub(51, 02) = %q, %v", v, ok)
	}
	if v, ok := p.GetSub("26", "00"); !ok || v != "ID.DANA.WWW" {
		t.Errorf("GetSub(26, 00) = %q, %v", v, ok)
	}
	if _, ok := p.GetSub(TagAdditional, "05"); ok {
		t.Error("GetSub(62, 05) found a value in a payload without 62")
	}
	if !p.IsStatic() || p.IsDynamic() {
		t.Error("the static vector is not static")
	}

	// A new object goes before the first greater ID; an existing one stays.
	if err := p.Set(TagAmount, "1000"); err != nil {
		t.Fatal(err)
	}
	if err := p.Set(TagInitiation, Dynamic); err != nil {
		t.Fatal(err)
	}
	if err := p.SetSub(TagAdditional, "05", "INV-1"); err != nil {
		t.Fatal(err)
	}
	if err := p.SetSub(TagAdditional, "01", "B7"); err != nil {
		t.Fatal(err)
	}
	if err := p.SetSub(TagQRIS, "03", "UKE"); err != nil {
		t.Fatal(err)
	}
	want := Payload{
		{"00", "01"}, {"01", "12"},
		{"26", "0011ID.DANA.WWW011893600915302259148102090225914810303UMI"},
		{"51", "0014ID.CO.QRIS.WWW0215ID10200176114730303UKE"},
		{"52", "5812"}, {"53", "360"}, {"54", "1000"}, {"58", "ID"},
		{"59", "Warung Sayur Bu Sugeng"}, {"60", "Kab. Demak"}, {"61", "59567"},
		{"62", "0102B70505INV-1"},
		{"63", "58C7"},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("after Set:\n got %q\nwant %q", p, want)
	}
	if !p.IsDynamic() {
		t.Error("IsDynamic after Set(01, 12) = false")
	}
	s, err := p.Sign()
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(s); err != nil {
		t.Errorf("Validate(Sign()) = %v", err)
	}

	// Set removes later duplicates; Delete removes all.
	d := Payload{{"00", "01"}, {"59", "a"}, {"60", "b"}, {"59", "c"}}
	if err := d.Set("59", "z"); err != nil {
		t.Fatal(err)
	}
	if want := (Payload{{"00", "01"}, {"59", "z"}, {"60", "b"}}); !reflect.DeepEqual(d, want) {
		t.Errorf("Set over duplicates = %q, want %q", d, want)
	}
	d = append(d, Field{"60", "c"})
	d.Delete("60")
	if want := (Payload{{"00", "01"}, {"59", "z"}}); !reflect.DeepEqual(d, want) {
		t.Errorf("Delete = %q, want %q", d, want)
	}

	// Bad values are refused and leave the payload alone.
	before := append(Payload(nil), p...)
	for _, err := range []error{
		p.Set("5", "x"),
		p.Set(TagMerchantName, ""),
		p.Set(TagMerchantName, strings.Repeat("x", 100)),
		p.SetSub(TagAdditional, "x1", "y"),
		p.SetSub(TagAdditional, "50", strings.Repeat("x", 95)), // template would exceed 99
	} {
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("bad Set = %v, want ErrSyntax", err)
		}
	}
	bad := Payload{{"00", "01"}, {"62", "xx"}}
	if err := bad.SetSub(TagAdditional, "01", "y"); !errors.Is(err, ErrSyntax) {
		t.Errorf("SetSub into a broken template = %v, want ErrSyntax", err)
	}
	if !reflect.DeepEqual(p, before) {
		t.Errorf("failed Set changed the payload:\n got %q\nwant %q", p, before)
	}
	if _, err := p.Template("64"); !errors.Is(err, ErrMissing) {
		t.Errorf("Template(64) = %v, want ErrMissing", err)
	}
}

func TestErrorMessage(t *testing.T) {
	for _, c := range []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: ErrValue, Tag: "54", Offset: 120, Detail: "amount is \"0\""},
			`qris: invalid value (ID 54, offset 120): amount is "0"`},
		{&Error{Kind: ErrMissing, Tag: "63", Offset: -1, Detail: "there is no CRC"},
			"qris: data object missing (ID 63): there is no CRC"},
		{&Error{Kind: ErrTooLong, Offset: 512}, "qris: payload too long (offset 512)"},
		{&Error{Kind: ErrAmount, Offset: -1}, "qris: invalid amount"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %s, want %s", got, c.want)
		}
	}
}
