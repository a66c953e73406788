package qris

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// anyOffset in a test case means the offset is not checked.
const anyOffset = -2

// set returns a change that sets ID tag to value.
func set(tag, value string) func(*Payload) {
	return func(p *Payload) {
		if err := p.Set(tag, value); err != nil {
			panic(err)
		}
	}
}

// setSub returns a change that sets sub-object sub of template tag.
func setSub(tag, sub, value string) func(*Payload) {
	return func(p *Payload) {
		if err := p.SetSub(tag, sub, value); err != nil {
			panic(err)
		}
	}
}

// del returns a change that deletes ID tag.
func del(tag string) func(*Payload) {
	return func(p *Payload) { p.Delete(tag) }
}

// grow returns a change that adds IDs 80, 81, … with values of "x" so that
// the payload gets k characters longer (k ≥ 5).
func grow(k int) func(*Payload) {
	return func(p *Payload) {
		for tag := 80; k > 0; tag++ {
			n := min(k-4, MaxValueLen)
			if r := k - 4 - n; r > 0 && r < 5 {
				n -= 5 - r
			}
			*p = append(*p, Field{strconv.Itoa(tag), strings.Repeat("x", n)})
			k -= 4 + n
		}
	}
}

// all returns a change made of changes, in order.
func all(changes ...func(*Payload)) func(*Payload) {
	return func(p *Payload) {
		for _, c := range changes {
			c(p)
		}
	}
}

// validPayloads pass Validate.
var validPayloads = []struct {
	name string
	in   string
}{
	{"vector 1 static", payloadVectors[0].static},
	{"vector 1 dynamic", payloadVectors[0].dynamic},
	{"vector 2 static", payloadVectors[1].static},
	{"vector 2 dynamic", payloadVectors[1].dynamic},
	{"vector 3 static", payloadVectors[2].static},
	{"vector 3 dynamic with fixed fee", payloadVectors[2].dynamic},
	{"CRC vector as a payload", crcVectors[3].in + crcVectors[3].want},
	{"amount with decimals", mutate(static1, all(set("01", "12"), set("54", "50000.00")))},
	{"amount of 13 characters", mutate(static1, all(set("01", "12"), set("54", "9999999999999")))},
	{"tip prompt", mutate(static1, set("55", "01"))},
	{"percentage fee", mutate(static1, all(set("55", "03"), set("57", "2.5")))},
	{"no country", mutate(static1, del("58"))},
	{"IDs the package does not know", mutate(static1, all(set("64", "anything"), set("80", "x"), set("99", "0.0")))},
	{"objects in another order", mutate(static1, func(p *Payload) { (*p)[2], (*p)[8] = (*p)[8], (*p)[2] })},
	{"longest name, city and postal code", mutate(static1, all(
		set("59", strings.Repeat("n", 25)), set("60", strings.Repeat("c", 15)), set("61", strings.Repeat("9", 10))))},
	{"QRIS template with only its GUID", mutate(static1, set("51", "0014ID.CO.QRIS.WWW"))},
	{"additional data", mutate(static1, all(setSub("62", "01", strings.Repeat("b", 25)), setSub("62", "07", "A01")))},
	{"exactly 512 characters", mutate(static1, grow(MaxLen-len(static1)))},
}

func TestValidateVectors(t *testing.T) {
	for _, c := range validPayloads {
		if err := Validate(c.in); err != nil {
			t.Errorf("%s: Validate(%s) = %v", c.name, c.in, err)
		}
	}
}

// invalidPayloads fail Validate with an error of kind, about ID tag, at
// offset.
var invalidPayloads = []struct {
	name   string
	in     string
	kind   error
	tag    string
	offset int
}{
	{"empty", "", ErrSyntax, "", 0},
	{"longer than 512", mutate(static1, grow(MaxLen-len(static1)+1)), ErrTooLong, "", 512},
	{"truncated", static1[:len(static1)-1], ErrSyntax, "63", 195},
	{"template does not parse", mutate(static1, set("26", "ABC")), ErrSyntax, "26", 16},
	{"00 not first", mutate(static1, func(p *Payload) { (*p)[0], (*p)[1] = (*p)[1], (*p)[0] }), ErrOrder, "01", 0},
	{"00 missing", mutate(static1, del("00")), ErrMissing, "00", -1},
	{"00 not 01", mutate(static1, set("00", "02")), ErrValue, "00", 0},
	{"63 not last", static1 + "9901X", ErrOrder, "99", 199},
	{"63 missing", body(static1), ErrMissing, "63", -1},
	{"63 length 05", body(static1) + "6305" + "58C70", ErrValue, "63", 191},
	{"CRC in lower case", body(static1) + "6304" + "58c7", ErrValue, "63", 191},
	{"CRC wrong", body(static1) + "6304" + "58C8", ErrCRC, "63", 195},
	{"name changed after signing", strings.Replace(static1, "Sayur", "Sayor", 1), ErrCRC, "63", 195},
	{"01 twice", mutate(static1, func(p *Payload) { *p = insert(*p, 2, Field{"01", "12"}) }), ErrDuplicate, "01", 12},
	{"sub-object twice", mutate(static1, set("62", "0102B70102B8")), ErrDuplicate, "62.01", 201},
	{"01 missing", mutate(static1, del("01")), ErrMissing, "01", -1},
	{"01 neither static nor dynamic", mutate(static1, set("01", "13")), ErrValue, "01", 6},
	{"account template without GUID", mutate(static1, set("26", "0118936009153022591481")), ErrMissing, "26.00", -1},
	{"QRIS GUID wrong", mutate(static1, setSub("51", "00", "ID.CO.QRIS.WW")), ErrValue, "51.00", 77},
	{"NMID of 14 characters", mutate(static1, setSub("51", "02", "ID102001761147")), ErrValue, "51.02", 95},
	{"merchant criteria unknown", mutate(static1, setSub("51", "03", "UXX")), ErrValue, "51.03", anyOffset},
	{"MCC of 3 digits", mutate(static1, set("52", "581")), ErrValue, "52", 121},
	{"MCC not digits", mutate(static1, set("52", "58A2")), ErrValue, "52", 121},
	{"currency not rupiah", mutate(static1, set("53", "840")), ErrValue, "53", 129},
	{"amount zero", mutate(static1, set("54", "0")), ErrValue, "54", 136},
	{"amount zero with decimals", mutate(static1, set("54", "000.00")), ErrValue, "54", 136},
	{"amount of 14 characters", mutate(static1, set("54", "12345678901234")), ErrValue, "54", 136},
	{"amount with separators", mutate(static1, set("54", "50.000.00")), ErrValue, "54", 136},
	{"amount with comma", mutate(static1, set("54", "1,000")), ErrValue, "54", 136},
	{"amount negative", mutate(static1, set("54", "-5")), ErrValue, "54", 136},
	{"amount empty decimals", mutate(static1, set("54", "5.")), ErrValue, "54", 136},
	{"tip indicator unknown", mutate(static1, set("55", "04")), ErrValue, "55", 136},
	{"fixed fee missing", mutate(static1, set("55", "02")), ErrMissing, "56", -1},
	{"percentage missing", mutate(static1, set("55", "03")), ErrMissing, "57", -1},
	{"fixed fee without indicator", mutate(static1, set("56", "666")), ErrValue, "56", 136},
	{"percentage with the fixed-fee indicator", mutate(static1, all(set("55", "02"), set("56", "1"), set("57", "2"))), ErrValue, "57", 147},
	{"fixed fee not a number", mutate(static1, all(set("55", "02"), set("56", "6,6"))), ErrValue, "56", 142},
	{"country not ID", mutate(static1, set("58", "SG")), ErrValue, "58", 136},
	{"name of 26 characters", mutate(static1, set("59", strings.Repeat("n", 26))), ErrValue, "59", 142},
	{"city of 16 characters", mutate(static1, set("60", strings.Repeat("c", 16))), ErrValue, "60", 168},
	{"postal code of 11 characters", mutate(static1, set("61", strings.Repeat("9", 11))), ErrValue, "61", 182},
	{"additional data not a template", mutate(static1, set("62", "A01")), ErrSyntax, "62", 195},
	{"additional data of 26 characters", mutate(static1, setSub("62", "01", strings.Repeat("b", 26))), ErrValue, "62.01", 195},
}

func TestValidateErrors(t *testing.T) {
	for _, c := range invalidPayloads {
		err := Validate(c.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: Validate = %v, want an *Error", c.name, err)
			continue
		}
		if !errors.Is(err, c.kind) || e.Tag != c.tag || (c.offset != anyOffset && e.Offset != c.offset) {
			t.Errorf("%s: Validate = %v (ID %q, offset %d), want %v at ID %q, offset %d",
				c.name, err, e.Tag, e.Offset, c.kind, c.tag, c.offset)
		}
	}
}
