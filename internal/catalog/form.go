package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"kios/internal/fault"
)

// The kinds of form field.
const (
	Text     = "text"     // free text, trimmed, within MaxLength and Pattern
	Dropdown = "dropdown" // one of Options, by code
)

// DefaultMaxLength is the limit of a text field whose MaxLength is 0.
const DefaultMaxLength = 64

// Limits of form definitions.
const (
	maxFields      = 10
	maxOptions     = 200
	maxLengthLimit = 255
	maxPatternLen  = 500
)

// Field is one input an order for a provider must carry, such as a game's
// user id or a phone number. Key is the name of the property in the order's
// JSON body; Label is what people see.
type Field struct {
	Label string `json:"label"`
	Key   string `json:"key"`
	Type  string `json:"type"` // Text or Dropdown
	// Options are the choices of a dropdown; the value sent is the code.
	Options []Option `json:"options,omitempty"`
	// Pattern, when set, is a regular expression (RE2 syntax) a text value
	// must match as a whole.
	Pattern string `json:"pattern,omitempty"`
	// MaxLength limits a text value, in characters; 0 means
	// DefaultMaxLength.
	MaxLength int `json:"max_length,omitempty"`

	re *regexp.Regexp // Pattern, anchored and compiled
}

// Option is one choice of a dropdown field.
type Option struct {
	Name string `json:"name"`
	Code string `json:"code"`
}

// Limit returns the most characters a text value of f may have.
func (f Field) Limit() int {
	if f.MaxLength > 0 {
		return f.MaxLength
	}
	return DefaultMaxLength
}

// reservedKeys are the properties of the order body that are not form
// fields, so no field may be called so.
var reservedKeys = map[string]bool{"target_product_code": true, "partner_reference": true}

// keyPattern is what a field's key may look like.
var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// normalizeForms checks a provider's form definition and returns it in the
// form it is stored: trimmed, with patterns compiled. Errors are
// fault.Invalid about "forms".
func normalizeForms(in []Field) ([]Field, error) {
	if len(in) > maxFields {
		return nil, fault.Field(fault.Invalid, "forms", "at most %d fields", maxFields)
	}
	out := make([]Field, 0, len(in))
	seen := map[string]bool{}
	for i, f := range in {
		f.Label = strings.TrimSpace(f.Label)
		f.Key = strings.TrimSpace(f.Key)
		f.Pattern = strings.TrimSpace(f.Pattern)
		bad := func(format string, args ...any) error {
			return fault.Field(fault.Invalid, "forms", "field %d (%q): %s", i+1, f.Key, fmt.Sprintf(format, args...))
		}
		switch {
		case f.Label == "" || utf8.RuneCountInString(f.Label) > 100:
			return nil, bad("the label must be 1 to 100 characters")
		case !keyPattern.MatchString(f.Key):
			return nil, bad("the key must be 1 to 32 characters of a-z, 0-9 and '_', starting with a letter")
		case reservedKeys[f.Key]:
			return nil, bad("the key is a property of every order")
		case seen[f.Key]:
			return nil, bad("the key is used twice")
		case f.MaxLength < 0 || f.MaxLength > maxLengthLimit:
			return nil, bad("max_length must be 0 (default %d) to %d", DefaultMaxLength, maxLengthLimit)
		}
		seen[f.Key] = true
		switch f.Type {
		case Text:
			if len(f.Options) > 0 {
				return nil, bad("a text field has no options")
			}
			if f.Pattern != "" {
				if len(f.Pattern) > maxPatternLen {
					return nil, bad("the pattern is longer than %d bytes", maxPatternLen)
				}
				re, err := compilePattern(f.Pattern)
				if err != nil {
					return nil, bad("the pattern is not a valid regular expression: %v", err)
				}
				f.re = re
			}
		case Dropdown:
			if f.Pattern != "" || f.MaxLength != 0 {
				return nil, bad("a dropdown has no pattern or max_length")
			}
			if len(f.Options) == 0 || len(f.Options) > maxOptions {
				return nil, bad("a dropdown needs 1 to %d options", maxOptions)
			}
			opts := make([]Option, len(f.Options))
			codes := map[string]bool{}
			for j, o := range f.Options {
				o.Name, o.Code = strings.TrimSpace(o.Name), strings.TrimSpace(o.Code)
				if o.Name == "" || o.Code == "" || len(o.Code) > DefaultMaxLength {
					return nil, bad("option %d needs a name and a code of at most %d characters", j+1, DefaultMaxLength)
				}
				if codes[o.Code] {
					return nil, bad("option code %q is used twice", o.Code)
				}
				codes[o.Code] = true
				opts[j] = o
			}
			f.Options = opts
		default:
			return nil, bad("the type must be %q or %q", Text, Dropdown)
		}
		out = append(out, f)
	}
	return out, nil
}

// compilePattern compiles a field's pattern so that it must match the whole
// value.
func compilePattern(p string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(p); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + p + `)$`)
}

// encodeForms is the stored form of a provider's fields.
func encodeForms(fs []Field) (string, error) {
	if fs == nil {
		fs = []Field{}
	}
	b, err := json.Marshal(fs)
	return string(b), err
}

// decodeForms reads stored fields and compiles their patterns.
func decodeForms(s string) ([]Field, error) {
	var fs []Field
	if err := json.Unmarshal([]byte(s), &fs); err != nil {
		return nil, fmt.Errorf("catalog: stored forms: %w", err)
	}
	for i := range fs {
		if fs[i].Pattern == "" {
			continue
		}
		re, err := compilePattern(fs[i].Pattern)
		if err != nil {
			return nil, fmt.Errorf("catalog: stored pattern of %q: %w", fs[i].Key, err)
		}
		fs[i].re = re
	}
	return fs, nil
}

// ValidateForm checks the values an order carries for p's form and returns
// them normalised, by key. Every field is required. A value may arrive as a
// JSON string or a JSON number (as float64 or json.Number; a number is
// written out in full, without an exponent). Text is trimmed, must be
// non-empty, at most Limit() characters, free of control characters, and
// match Pattern as a whole when one is set; a dropdown's value must be one
// of its option codes. Keys that are not fields are ignored.
//
// An error is a *fault.Error whose Field is the field's key and whose Label
// and Detail are the field's label, exactly, so that a face can word its
// own message with the label; the reason is in the error's cause, for logs. A
// missing, null or blank value is fault.Missing; any other refusal is
// fault.Invalid.
func (p Provider) ValidateForm(input map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(p.Forms))
	for _, f := range p.Forms {
		v, err := f.value(input[f.Key])
		if err != nil {
			return nil, err
		}
		out[f.Key] = v
	}
	return out, nil
}

// value validates one field's raw value.
func (f Field) value(raw any) (string, error) {
	refuse := func(code fault.Code, reason string) error {
		return &fault.Error{Code: code, Field: f.Key, Label: f.Label, Detail: f.Label, Err: errors.New(reason)}
	}
	var s string
	switch v := raw.(type) {
	case nil:
		return "", refuse(fault.Missing, "is required")
	case string:
		s = v
	case json.Number:
		n, ok := formatNumber(string(v))
		if !ok {
			return "", refuse(fault.Invalid, "is not a usable number")
		}
		s = n
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", refuse(fault.Invalid, "is not a usable number")
		}
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	default:
		return "", refuse(fault.Invalid, "must be a string or a number")
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", refuse(fault.Missing, "is required")
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return "", refuse(fault.Invalid, "contains control characters or invalid UTF-8")
	}
	if f.Type == Dropdown {
		for _, o := range f.Options {
			if o.Code == s {
				return s, nil
			}
		}
		return "", refuse(fault.Invalid, "is not one of the options")
	}
	if n := utf8.RuneCountInString(s); n > f.Limit() {
		return "", refuse(fault.Invalid, fmt.Sprintf("is %d characters, more than %d", n, f.Limit()))
	}
	if f.Pattern != "" {
		re := f.re
		if re == nil {
			var err error
			if re, err = compilePattern(f.Pattern); err != nil {
				return "", fmt.Errorf("catalog: pattern of %q: %w", f.Key, err)
			}
		}
		if !re.MatchString(s) {
			return "", refuse(fault.Invalid, "does not match the pattern")
		}
	}
	return s, nil
}

// integerLiteral is a JSON number without fraction or exponent.
var integerLiteral = regexp.MustCompile(`^-?[0-9]+$`)

// formatNumber writes a JSON number literal out in full: an integer keeps
// its digits exactly (however long); "1e5" becomes "100000" and "12.50"
// becomes "12.5".
func formatNumber(lit string) (string, bool) {
	if integerLiteral.MatchString(lit) {
		return lit, true
	}
	if len(lit) > 64 {
		return "", false
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f) >= 1e21 {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}
