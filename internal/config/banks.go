package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// BankAccount is one of the platform's destination accounts for deposits,
// as --banks gives it: bca=1234567890:PT Kios Digital.
type BankAccount struct {
	Code   string // bca, bni, bri, mandiri, …
	Number string // the account number, digits only
	Holder string // the account holder's name
}

var (
	bankEntryStart = regexp.MustCompile(`^\s*[A-Za-z0-9_]+\s*=`)
	bankCode       = regexp.MustCompile(`^[a-z0-9_]{2,16}$`)
	bankNumber     = regexp.MustCompile(`^[0-9]{5,20}$`)
)

// ParseBanks reads --banks: entries code=account-number:holder separated
// by commas. A comma not followed by "code=" belongs to the holder's name
// ("PT Kios Digital, Tbk"). Codes are lower-cased; an empty string is no
// banks.
func ParseBanks(s string) ([]BankAccount, error) {
	var entries []string
	for _, part := range strings.Split(s, ",") {
		if len(entries) > 0 && !bankEntryStart.MatchString(part) {
			entries[len(entries)-1] += "," + part
			continue
		}
		entries = append(entries, part)
	}
	var out []BankAccount
	seen := map[string]bool{}
	for _, e := range entries {
		if strings.TrimSpace(e) == "" {
			continue
		}
		code, rest, ok := strings.Cut(e, "=")
		number, holder, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			return nil, fmt.Errorf("%q: want code=account-number:holder", strings.TrimSpace(e))
		}
		b := BankAccount{Code: strings.ToLower(strings.TrimSpace(code)), Number: strings.TrimSpace(number), Holder: strings.TrimSpace(holder)}
		switch {
		case !bankCode.MatchString(b.Code) || b.Code == "qris":
			return nil, fmt.Errorf("%q: a bank code is 2 to 16 characters of a-z, 0-9 and '_' (qris needs no account)", b.Code)
		case seen[b.Code]:
			return nil, fmt.Errorf("bank %q is given twice", b.Code)
		case !bankNumber.MatchString(b.Number):
			return nil, fmt.Errorf("bank %s: account number %q is not 5 to 20 digits", b.Code, b.Number)
		case b.Holder == "" || len([]rune(b.Holder)) > 64:
			return nil, fmt.Errorf("bank %s: the account holder must be 1 to 64 characters", b.Code)
		}
		seen[b.Code] = true
		out = append(out, b)
	}
	return out, nil
}

type banksValue []BankAccount

func (v *banksValue) String() string {
	parts := make([]string, len(*v))
	for i, b := range *v {
		parts[i] = b.Code + "=" + b.Number + ":" + b.Holder
	}
	return strings.Join(parts, ",")
}

func (v *banksValue) Set(s string) error {
	banks, err := ParseBanks(s)
	if err != nil {
		return err
	}
	*v = banks
	return nil
}

type int64Value int64

func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = int64Value(n)
	return nil
}
