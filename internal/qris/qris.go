// Package qris reads, checks and writes QRIS payloads, the text inside an
// Indonesian payment QR code, and turns a merchant's printed (static) code
// into a dynamic one that carries the amount to pay.
//
// A payload is a run of data objects. Each object is a two-digit ID, a
// two-digit length from 01 to 99, and exactly that many characters of value.
// The merchant account templates (IDs 26 to 51) and the additional data
// template (ID 62) hold a further run of objects of the same shape inside
// their value. ID 00, the format indicator, always opens the payload and ID
// 63, a CRC-16/CCITT-FALSE checksum of everything before its own four hex
// digits, always closes it; the objects between them may come in any order.
// The point of initiation, ID 01, says whether the code may be paid many
// times (11, static) or once (12, dynamic); a dynamic code also carries the
// amount in rupiah under ID 54.
//
// Parse splits a payload into a Payload, an ordered list of Fields that
// Encode turns back into exactly the same text. A template's inner objects
// are read on demand with Payload.Template, GetSub and SetSub, so the raw
// value stays the one source of truth. Validate applies the format rules of
// design/qris.md and reports the first problem as an *Error; ToDynamic and
// ToDynamicWithTip make the dynamic payload. Lengths are counted in bytes,
// which for the ASCII text of a QRIS payload is the number of characters.
//
// The package does no I/O and uses only the standard library.
package qris

import (
	"fmt"
	"strconv"
)

// IDs of the data objects the package knows by name.
const (
	TagFormat       = "00" // payload format indicator, always "01"
	TagInitiation   = "01" // point of initiation: Static or Dynamic
	TagQRIS         = "51" // QRIS national merchant account template
	TagMCC          = "52" // merchant category code
	TagCurrency     = "53" // transaction currency, "360" for rupiah
	TagAmount       = "54" // transaction amount
	TagTip          = "55" // tip or convenience fee indicator
	TagFixedFee     = "56" // convenience fee, fixed
	TagPercentFee   = "57" // convenience fee, percentage
	TagCountry      = "58" // country code, "ID"
	TagMerchantName = "59"
	TagCity         = "60"
	TagPostalCode   = "61"
	TagAdditional   = "62" // additional data field template
	TagCRC          = "63"
)

// Values of TagInitiation.
const (
	Static  = "11" // the code may be paid any number of times
	Dynamic = "12" // the code is for one transaction
)

// MaxLen is the longest payload, in characters, that Validate accepts.
const MaxLen = 512

// MaxValueLen is the longest value a data object can hold: its length is
// written with two digits.
const MaxValueLen = 99

// Field is one data object: its two-digit ID and its raw value. For a
// template the value is itself an encoded run of data objects.
type Field struct {
	Tag   string
	Value string
}

// Payload is a run of data objects in the order they appear.
type Payload []Field

// Parse splits s into its data objects. It fails with an *Error of kind
// ErrSyntax when s is empty, when an ID or a length is not two digits, when a
// length is 00, or when a value runs past the end of s. Parse does not look
// inside templates and checks no other rule; Validate does. For every s that
// Parse accepts, Encode of the result returns s.
func Parse(s string) (Payload, error) {
	return parseAt(s, 0, "")
}

// parseAt parses s, which starts at offset base of the whole payload and is
// the value of the template at path parent ("" for the payload itself), so
// that errors point at the right place.
func parseAt(s string, base int, parent string) (Payload, error) {
	if s == "" {
		return nil, &Error{Kind: ErrSyntax, Tag: parent, Offset: base, Detail: "no data objects"}
	}
	var p Payload
	for i := 0; i < len(s); {
		if len(s)-i < 4 {
			return nil, &Error{Kind: ErrSyntax, Tag: parent, Offset: base + i,
				Detail: fmt.Sprintf("%q is too short to be an ID and a length", s[i:])}
		}
		tag, length := s[i:i+2], s[i+2:i+4]
		path := join(parent, tag)
		if !isDigits(tag) {
			return nil, &Error{Kind: ErrSyntax, Tag: parent, Offset: base + i,
				Detail: fmt.Sprintf("ID %q is not two digits", tag)}
		}
		if !isDigits(length) {
			return nil, &Error{Kind: ErrSyntax, Tag: path, Offset: base + i + 2,
				Detail: fmt.Sprintf("length %q is not two digits", length)}
		}
		n, _ := strconv.Atoi(length)
		if n == 0 {
			return nil, &Error{Kind: ErrSyntax, Tag: path, Offset: base + i + 2,
				Detail: "length is 00; a value has 1 to 99 characters"}
		}
		start := i + 4
		if start+n > len(s) {
			return nil, &Error{Kind: ErrSyntax, Tag: path, Offset: base + start,
				Detail: fmt.Sprintf("length is %d but only %d characters are left", n, len(s)-start)}
		}
		p = append(p, Field{Tag: tag, Value: s[start : start+n]})
		i = start + n
	}
	return p, nil
}

// Encode writes p out as text. It fails with an *Error of kind ErrSyntax when
// an ID is not two digits or a value is empty or longer than MaxValueLen.
func (p Payload) Encode() (string, error) {
	size := 0
	for _, f := range p {
		size += 4 + len(f.Value)
	}
	b := make([]byte, 0, size)
	for _, f := range p {
		if err := checkField(f); err != nil {
			err.Offset = len(b)
			return "", err
		}
		b = append(b, f.Tag...)
		b = append(b, byte('0'+len(f.Value)/10), byte('0'+len(f.Value)%10))
		b = append(b, f.Value...)
	}
	return string(b), nil
}

// Sign returns p encoded with a fresh CRC as its last data object: any ID 63
// in p is dropped, the rest is encoded, and "6304" and the checksum are
// appended.
func (p Payload) Sign() (string, error) {
	body, err := p.without(TagCRC).Encode()
	if err != nil {
		return "", err
	}
	return AppendCRC(body), nil
}

// checkField reports whether f can be encoded.
func checkField(f Field) *Error {
	switch {
	case len(f.Tag) != 2 || !isDigits(f.Tag):
		return &Error{Kind: ErrSyntax, Tag: f.Tag, Detail: fmt.Sprintf("ID %q is not two digits", f.Tag)}
	case f.Value == "":
		return &Error{Kind: ErrSyntax, Tag: f.Tag, Detail: "value is empty; a value has 1 to 99 characters"}
	case len(f.Value) > MaxValueLen:
		return &Error{Kind: ErrSyntax, Tag: f.Tag,
			Detail: fmt.Sprintf("value has %d characters; at most %d fit", len(f.Value), MaxValueLen)}
	}
	return nil
}

// Index returns the position of the first data object with ID tag, or -1.
func (p Payload) Index(tag string) int {
	for i, f := range p {
		if f.Tag == tag {
			return i
		}
	}
	return -1
}

// Get returns the value of the first data object with ID tag.
func (p Payload) Get(tag string) (string, bool) {
	if i := p.Index(tag); i >= 0 {
		return p[i].Value, true
	}
	return "", false
}

// Set makes value the value of ID tag. An existing object keeps its place
// (and any later duplicates are removed); a new one goes before the first
// object with a greater ID, or at the end, so that 00 stays first and 63
// last. Set fails, leaving p unchanged, when the field could not be encoded.
func (p *Payload) Set(tag, value string) error {
	if err := checkField(Field{Tag: tag, Value: value}); err != nil {
		err.Offset = -1
		return err
	}
	if i := p.Index(tag); i >= 0 {
		(*p)[i].Value = value
		rest := (*p)[i+1:].without(tag)
		*p = append((*p)[:i+1], rest...)
		return nil
	}
	at := len(*p)
	for i, f := range *p {
		if f.Tag > tag {
			at = i
			break
		}
	}
	*p = insert(*p, at, Field{Tag: tag, Value: value})
	return nil
}

// Delete removes every data object with ID tag.
func (p *Payload) Delete(tag string) {
	*p = p.without(tag)
}

// Template parses the value of ID tag as a run of data objects. It fails
// with ErrMissing when there is no such object and with ErrSyntax when its
// value does not parse; error offsets are then counted from the start of p.
func (p Payload) Template(tag string) (Payload, error) {
	i := p.Index(tag)
	if i < 0 {
		return nil, &Error{Kind: ErrMissing, Tag: tag, Offset: -1, Detail: "no such data object"}
	}
	return parseAt(p[i].Value, p.offset(i)+4, tag)
}

// GetSub returns the value of sub-object sub inside template tag. It reports
// false when either is missing or the template does not parse.
func (p Payload) GetSub(tag, sub string) (string, bool) {
	t, err := p.Template(tag)
	if err != nil {
		return "", false
	}
	return t.Get(sub)
}

// SetSub makes value the value of sub-object sub inside template tag,
// creating the template if needed, with the placement rules of Set at both
// levels. It fails, leaving p unchanged, when the template exists but does
// not parse or when the result would not fit.
func (p *Payload) SetSub(tag, sub, value string) error {
	var t Payload
	if p.Index(tag) >= 0 {
		var err error
		if t, err = p.Template(tag); err != nil {
			return err
		}
	}
	if err := checkField(Field{Tag: sub, Value: value}); err != nil {
		err.Tag, err.Offset = join(tag, sub), -1
		return err
	}
	_ = t.Set(sub, value) // checked above
	v, err := t.Encode()
	if err != nil {
		return err
	}
	return p.Set(tag, v)
}

// IsStatic reports whether p's point of initiation is Static.
func (p Payload) IsStatic() bool {
	v, _ := p.Get(TagInitiation)
	return v == Static
}

// IsDynamic reports whether p's point of initiation is Dynamic.
func (p Payload) IsDynamic() bool {
	v, _ := p.Get(TagInitiation)
	return v == Dynamic
}

// offset returns where object i starts in the encoded payload.
func (p Payload) offset(i int) int {
	n := 0
	for _, f := range p[:i] {
		n += 4 + len(f.Value)
	}
	return n
}

// without returns a copy of p with no object of ID tag.
func (p Payload) without(tag string) Payload {
	out := make(Payload, 0, len(p))
	for _, f := range p {
		if f.Tag != tag {
			out = append(out, f)
		}
	}
	return out
}

func insert(p Payload, at int, fs ...Field) Payload {
	out := make(Payload, 0, len(p)+len(fs))
	out = append(out, p[:at]...)
	out = append(out, fs...)
	return append(out, p[at:]...)
}

// join makes the path of sub-object tag inside template parent ("62.05").
func join(parent, tag string) string {
	if parent == "" {
		return tag
	}
	return parent + "." + tag
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
