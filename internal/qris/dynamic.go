package qris

import (
	"fmt"
	"strconv"
)

// MaxAmount is the largest amount, in rupiah, that fits in the 13
// characters of ID 54.
const MaxAmount = 9_999_999_999_999

// TipKind is the value of ID 55: how the payer's app adds a tip or a
// convenience fee.
type TipKind string

// Kinds of tip.
const (
	NoTip      TipKind = ""   // no ID 55
	TipPrompt  TipKind = "01" // the app asks the payer for a tip
	TipFixed   TipKind = "02" // a fixed convenience fee, in ID 56
	TipPercent TipKind = "03" // a convenience fee as a percentage, in ID 57
)

// Tip is the tip or convenience fee of a dynamic payload.
type Tip struct {
	Kind TipKind
	// Fixed is the fee in rupiah for TipFixed: greater than zero, at most
	// MaxAmount.
	Fixed int64
	// Percent is the percentage for TipPercent, such as "2" or "2.5".
	Percent string
}

// fields returns the data objects that express t.
func (t Tip) fields() ([]Field, error) {
	switch t.Kind {
	case NoTip:
		return nil, nil
	case TipPrompt:
		return []Field{{TagTip, string(t.Kind)}}, nil
	case TipFixed:
		fee, err := rupiah(TagFixedFee, "fixed fee", t.Fixed)
		if err != nil {
			return nil, err
		}
		return []Field{{TagTip, string(t.Kind)}, {TagFixedFee, fee}}, nil
	case TipPercent:
		if !isNumber(t.Percent) || len(t.Percent) > MaxValueLen {
			return nil, &Error{Kind: ErrAmount, Tag: TagPercentFee, Offset: -1,
				Detail: fmt.Sprintf("percentage %q is not a number such as 2 or 2.5", t.Percent)}
		}
		return []Field{{TagTip, string(t.Kind)}, {TagPercentFee, t.Percent}}, nil
	}
	return nil, &Error{Kind: ErrAmount, Tag: TagTip, Offset: -1,
		Detail: fmt.Sprintf("tip kind %q is not one of \"\", 01, 02, 03", string(t.Kind))}
}

// rupiah writes n as ID tag wants it: plain digits, greater than zero, at
// most 13 of them.
func rupiah(tag, what string, n int64) (string, error) {
	if n <= 0 || n > MaxAmount {
		return "", &Error{Kind: ErrAmount, Tag: tag, Offset: -1,
			Detail: fmt.Sprintf("%s %d is not between 1 and %d rupiah", what, n, int64(MaxAmount))}
	}
	return strconv.FormatInt(n, 10), nil
}

// ToDynamic turns static, a merchant's static payload, into a dynamic
// payload for amount rupiah with no tip. See ToDynamicWithTip.
func ToDynamic(static string, amount int64) (string, error) {
	return ToDynamicWithTip(static, amount, Tip{})
}

// ToDynamicWithTip turns static, a merchant's static payload, into a dynamic
// payload for amount rupiah, following design/qris.md:
//
//  1. static must pass Validate and have point of initiation 11; otherwise
//     the Validate error, or one of kind ErrNotStatic, is returned;
//  2. IDs 63, 54, 55, 56 and 57 are dropped;
//  3. ID 01 becomes "12";
//  4. ID 54, the amount as plain digits, followed by the objects of tip
//     (55, then 56 or 57), is inserted just before ID 58, or, without a 58,
//     before the first ID greater than 54, or else at the end;
//  5. the result gets a fresh CRC.
//
// An amount or fee that is not between 1 and MaxAmount is refused with kind
// ErrAmount, and a result longer than MaxLen with kind ErrTooLong. Every
// payload returned passes Validate.
func ToDynamicWithTip(static string, amount int64, tip Tip) (string, error) {
	if err := Validate(static); err != nil {
		return "", err
	}
	p, _ := Parse(static) // Validate parsed it
	if i := p.Index(TagInitiation); p[i].Value != Static {
		return "", &Error{Kind: ErrNotStatic, Tag: TagInitiation, Offset: p.offset(i),
			Detail: fmt.Sprintf("point of initiation is %s; only a static (11) payload can be made dynamic", p[i].Value)}
	}
	amt, err := rupiah(TagAmount, "amount", amount)
	if err != nil {
		return "", err
	}
	extra, err := tip.fields()
	if err != nil {
		return "", err
	}

	out := make(Payload, 0, len(p)+3)
	for _, f := range p {
		switch f.Tag {
		case TagCRC, TagAmount, TagTip, TagFixedFee, TagPercentFee:
			continue
		case TagInitiation:
			f.Value = Dynamic
		}
		out = append(out, f)
	}
	at := out.Index(TagCountry)
	if at < 0 {
		at = len(out)
		for i, f := range out {
			if f.Tag > TagAmount {
				at = i
				break
			}
		}
	}
	out = insert(out, at, append([]Field{{TagAmount, amt}}, extra...)...)

	s, err := out.Sign()
	if err != nil {
		return "", err
	}
	if err := Validate(s); err != nil {
		return "", err
	}
	return s, nil
}

// Template makes the dynamic payloads of one static payload, for any
// amount and no tip, with the static payload checked and split once: for
// a payment service that makes a payload per invoice from a store's
// static payload. It is safe for concurrent use.
type Template struct {
	static     string
	head, tail string // the dynamic payload before and after ID 54, without ID 63
}

// NewTemplate checks static as ToDynamic does (the same errors) and
// returns its Template.
func NewTemplate(static string) (*Template, error) {
	out, err := ToDynamic(static, 1)
	if err != nil {
		return nil, err
	}
	p, _ := Parse(out) // ToDynamic's results pass Validate
	i := p.Index(TagAmount)
	head, _ := p[:i].Encode()
	tail, _ := p[i+1:].without(TagCRC).Encode()
	return &Template{static: static, head: head, tail: tail}, nil
}

// Dynamic returns exactly what ToDynamic(static, amount) returns: the
// dynamic payload for amount, or the same error.
func (t *Template) Dynamic(amount int64) (string, error) {
	amt, err := rupiah(TagAmount, "amount", amount)
	if err != nil {
		return "", err
	}
	n := len(t.head) + 4 + len(amt) + len(t.tail) + 8
	if n > MaxLen {
		return ToDynamic(t.static, amount) // its ErrTooLong, as it words it
	}
	b := make([]byte, 0, n)
	b = append(b, t.head...)
	b = append(b, TagAmount...)
	b = append(b, byte('0'+len(amt)/10), byte('0'+len(amt)%10))
	b = append(b, amt...)
	b = append(b, t.tail...)
	b = append(b, TagCRC+"04"...)
	crc := crc16(string(b))
	const hexDigits = "0123456789ABCDEF"
	b = append(b, hexDigits[crc>>12], hexDigits[crc>>8&0xF], hexDigits[crc>>4&0xF], hexDigits[crc&0xF])
	return string(b), nil
}
