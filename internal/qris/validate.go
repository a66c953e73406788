package qris

import (
	"errors"
	"fmt"
	"strings"
)

// Kinds of problem. Every error the package returns is an *Error whose Kind
// is one of these, so callers can test for them with errors.Is.
var (
	ErrSyntax    = errors.New("qris: malformed data object")
	ErrTooLong   = errors.New("qris: payload too long")
	ErrOrder     = errors.New("qris: data object out of place")
	ErrDuplicate = errors.New("qris: data object repeated")
	ErrMissing   = errors.New("qris: data object missing")
	ErrValue     = errors.New("qris: invalid value")
	ErrCRC       = errors.New("qris: CRC does not match")
	ErrNotStatic = errors.New("qris: payload is not static")
	ErrAmount    = errors.New("qris: invalid amount")
)

// Error says what is wrong with a payload and where.
type Error struct {
	// Kind is one of the Err values above.
	Kind error
	// Tag is the path of the data object concerned: "54", or "51.02" for a
	// sub-object of a template. It is empty when the problem is not about
	// one object.
	Tag string
	// Offset is the byte offset in the payload where the problem starts, or
	// -1 when there is no such place (a missing object, a bad argument).
	Offset int
	// Detail says exactly what is wrong.
	Detail string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Tag != "" || e.Offset >= 0 {
		b.WriteString(" (")
		if e.Tag != "" {
			b.WriteString("ID " + e.Tag)
			if e.Offset >= 0 {
				b.WriteString(", ")
			}
		}
		if e.Offset >= 0 {
			fmt.Fprintf(&b, "offset %d", e.Offset)
		}
		b.WriteString(")")
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// Unwrap returns e.Kind.
func (e *Error) Unwrap() error { return e.Kind }

// Validate checks payload against the rules of design/qris.md and returns
// the first problem found, as an *Error, or nil. In order, it checks:
//
//   - the payload has at most MaxLen characters and parses to its end;
//   - ID 00 comes first with value "01", and ID 63 comes last with four
//     upper-case hex digits that match the CRC of everything before them;
//   - no ID appears twice, neither in the payload nor inside a template;
//   - ID 01 is present and is Static ("11") or Dynamic ("12");
//   - every merchant account template (26 to 51) parses and has a sub-object
//     00 (its GUID); in 51, 00 is "ID.CO.QRIS.WWW", 02 (NMID) has 15
//     characters and 03 (merchant criteria) is UMI, UKE, UME, UBE or URE;
//   - 52 is four digits, 53 is "360", 54 is a number of at most 13
//     characters that is not zero, 55 is 01, 02 or 03, 56 is present exactly
//     when 55 is 02 and 57 exactly when 55 is 03, both numbers;
//   - 58 is "ID", 59 has at most 25 characters, 60 at most 15, 61 at most 10;
//   - 62 parses and each of its sub-objects has at most 25 characters.
//
// Other IDs may appear, in any order between 00 and 63, with any value.
func Validate(payload string) error {
	if len(payload) > MaxLen {
		return &Error{Kind: ErrTooLong, Offset: MaxLen,
			Detail: fmt.Sprintf("%d characters; at most %d are allowed", len(payload), MaxLen)}
	}
	p, err := Parse(payload)
	if err != nil {
		return err
	}
	v := validator{p: p}
	return v.run(payload)
}

type validator struct {
	p Payload
}

func (v validator) errAt(kind error, i int, format string, args ...any) *Error {
	return &Error{Kind: kind, Tag: v.p[i].Tag, Offset: v.p.offset(i), Detail: fmt.Sprintf(format, args...)}
}

func (v validator) run(payload string) error {
	p := v.p
	last := len(p) - 1

	// 00 first, 63 last.
	if p[0].Tag != TagFormat {
		if p.Index(TagFormat) < 0 {
			return &Error{Kind: ErrMissing, Tag: TagFormat, Offset: -1, Detail: "there is no payload format indicator"}
		}
		return v.errAt(ErrOrder, 0, "the payload starts with ID %s; ID 00 must come first", p[0].Tag)
	}
	if p[0].Value != "01" {
		return v.errAt(ErrValue, 0, "payload format indicator is %q; it must be \"01\"", p[0].Value)
	}
	if p[last].Tag != TagCRC {
		if p.Index(TagCRC) < 0 {
			return &Error{Kind: ErrMissing, Tag: TagCRC, Offset: -1, Detail: "there is no CRC"}
		}
		return v.errAt(ErrOrder, last, "the payload ends with ID %s; ID 63 must come last", p[last].Tag)
	}
	if crc := p[last].Value; len(crc) != 4 || !isUpperHex(crc) {
		return v.errAt(ErrValue, last, "CRC is %q; it must be four upper-case hex digits", crc)
	}
	if err := duplicates(p, 0, ""); err != nil {
		return err
	}
	if err := VerifyCRC(payload); err != nil {
		return err
	}

	// Point of initiation.
	i := p.Index(TagInitiation)
	if i < 0 {
		return &Error{Kind: ErrMissing, Tag: TagInitiation, Offset: -1,
			Detail: "there is no point of initiation (11 static or 12 dynamic)"}
	}
	if p[i].Value != Static && p[i].Value != Dynamic {
		return v.errAt(ErrValue, i, "point of initiation is %q; it must be 11 (static) or 12 (dynamic)", p[i].Value)
	}

	for i, f := range p {
		if err := v.field(i, f); err != nil {
			return err
		}
	}

	// Tip or convenience fee: 56 goes with 55=02, 57 with 55=03.
	tip, _ := p.Get(TagTip)
	for _, c := range []struct{ tag, indicator, what string }{
		{TagFixedFee, "02", "fixed fee"},
		{TagPercentFee, "03", "percentage fee"},
	} {
		j := p.Index(c.tag)
		switch {
		case tip == c.indicator && j < 0:
			return &Error{Kind: ErrMissing, Tag: c.tag, Offset: -1,
				Detail: fmt.Sprintf("ID 55 is %s but there is no %s", c.indicator, c.what)}
		case tip != c.indicator && j >= 0:
			return v.errAt(ErrValue, j, "a %s is present but ID 55 is not %s", c.what, c.indicator)
		}
	}
	return nil
}

// maxLen is the longest value of the IDs whose limit qris.md gives.
var maxLen = map[string]int{TagMerchantName: 25, TagCity: 15, TagPostalCode: 10}

// field checks the value of p[i] for the IDs whose format qris.md gives.
func (v validator) field(i int, f Field) error {
	n := len(f.Value)
	if limit, ok := maxLen[f.Tag]; ok && n > limit {
		return v.errAt(ErrValue, i, "value has %d characters; at most %d are allowed", n, limit)
	}
	switch {
	case f.Tag >= "26" && f.Tag <= "51":
		return v.account(i, f)
	case f.Tag == TagMCC:
		if n != 4 || !isDigits(f.Value) {
			return v.errAt(ErrValue, i, "merchant category code is %q; it must be four digits", f.Value)
		}
	case f.Tag == TagCurrency:
		if f.Value != "360" {
			return v.errAt(ErrValue, i, "currency is %q; it must be 360 (rupiah)", f.Value)
		}
	case f.Tag == TagAmount:
		if n > 13 || !isNumber(f.Value) {
			return v.errAt(ErrValue, i, "amount is %q; it must be a number of at most 13 characters", f.Value)
		}
		if strings.Trim(f.Value, "0.") == "" {
			return v.errAt(ErrValue, i, "amount is %q; it must not be zero", f.Value)
		}
	case f.Tag == TagTip:
		if f.Value != "01" && f.Value != "02" && f.Value != "03" {
			return v.errAt(ErrValue, i, "tip indicator is %q; it must be 01, 02 or 03", f.Value)
		}
	case f.Tag == TagFixedFee || f.Tag == TagPercentFee:
		if !isNumber(f.Value) {
			return v.errAt(ErrValue, i, "convenience fee is %q; it must be a number", f.Value)
		}
	case f.Tag == TagCountry:
		if f.Value != "ID" {
			return v.errAt(ErrValue, i, "country is %q; it must be ID", f.Value)
		}
	case f.Tag == TagAdditional:
		t, err := v.p.Template(f.Tag)
		if err != nil {
			return err
		}
		for j, s := range t {
			if len(s.Value) > 25 {
				return v.subErr(i, t, j, "value has %d characters; at most 25 are allowed", len(s.Value))
			}
		}
	}
	return nil
}

// criteria are the QRIS merchant criteria (sub-object 03 of ID 51).
var criteria = map[string]bool{"UMI": true, "UKE": true, "UME": true, "UBE": true, "URE": true}

// account checks merchant account template p[i] (ID 26 to 51).
func (v validator) account(i int, f Field) error {
	t, err := v.p.Template(f.Tag)
	if err != nil {
		return err
	}
	guid := t.Index("00")
	if guid < 0 {
		return &Error{Kind: ErrMissing, Tag: join(f.Tag, "00"), Offset: -1,
			Detail: "a merchant account template must name its GUID in sub-object 00"}
	}
	if f.Tag != TagQRIS {
		return nil
	}
	if g := t[guid].Value; g != "ID.CO.QRIS.WWW" {
		return v.subErr(i, t, guid, "GUID of the QRIS template is %q; it must be ID.CO.QRIS.WWW", g)
	}
	if j := t.Index("02"); j >= 0 && len(t[j].Value) != 15 {
		return v.subErr(i, t, j, "NMID %q has %d characters; it must have 15", t[j].Value, len(t[j].Value))
	}
	if j := t.Index("03"); j >= 0 && !criteria[t[j].Value] {
		return v.subErr(i, t, j, "merchant criteria is %q; it must be UMI, UKE, UME, UBE or URE", t[j].Value)
	}
	return nil
}

// subErr reports an invalid value in sub-object t[j] of template p[i].
func (v validator) subErr(i int, t Payload, j int, format string, args ...any) *Error {
	return &Error{Kind: ErrValue, Tag: join(v.p[i].Tag, t[j].Tag),
		Offset: v.p.offset(i) + 4 + t.offset(j), Detail: fmt.Sprintf(format, args...)}
}

// duplicates reports the first ID that appears twice in p, and inside the
// templates of p (at depth 0 only), with offsets counted from base.
func duplicates(p Payload, base int, parent string) error {
	seen := make(map[string]bool, len(p))
	for i, f := range p {
		if seen[f.Tag] {
			return &Error{Kind: ErrDuplicate, Tag: join(parent, f.Tag), Offset: base + p.offset(i),
				Detail: "each ID may appear only once"}
		}
		seen[f.Tag] = true
		if parent == "" && isTemplate(f.Tag) {
			t, err := parseAt(f.Value, base+p.offset(i)+4, f.Tag)
			if err != nil {
				return err
			}
			if err := duplicates(t, base+p.offset(i)+4, f.Tag); err != nil {
				return err
			}
		}
	}
	return nil
}

// isTemplate reports whether the value of ID tag is a run of data objects:
// the merchant account templates 26 to 51 and the additional data template
// 62.
func isTemplate(tag string) bool {
	return tag >= "26" && tag <= "51" || tag == TagAdditional
}

// isNumber reports whether s is digits, optionally followed by a decimal
// point and more digits.
func isNumber(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	return isDigits(whole) && (!dot || isDigits(frac))
}

func isUpperHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'A' || s[i] > 'F') {
			return false
		}
	}
	return true
}
