package qris

import "fmt"

// CRC returns the CRC-16/CCITT-FALSE checksum of s (polynomial 0x1021,
// initial value 0xFFFF, bits not reflected, no final XOR) as four upper-case
// hex digits. The checksum of a payload covers everything up to and
// including the "6304" that introduces it.
func CRC(s string) string {
	return fmt.Sprintf("%04X", crc16(s))
}

// crcTable holds, for each byte b, the CRC register after shifting b
// through it from zero: crc16 then takes one lookup per byte instead of
// eight shifts.
var crcTable = func() (t [256]uint16) {
	for b := range t {
		crc := uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[b] = crc
	}
	return t
}()

func crc16(s string) uint16 {
	crc := uint16(0xFFFF)
	for i := 0; i < len(s); i++ {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^s[i]]
	}
	return crc
}

// AppendCRC closes body, a payload without its ID 63, with "6304" and the
// checksum of body+"6304".
func AppendCRC(body string) string {
	body += TagCRC + "04"
	return body + CRC(body)
}

// VerifyCRC checks that payload ends with "6304" and four hex digits equal to
// the checksum of everything before them. It looks only at the tail; Validate
// also checks that the tail is really the last data object.
func VerifyCRC(payload string) error {
	n := len(payload)
	if n < 8 || payload[n-8:n-4] != TagCRC+"04" {
		return &Error{Kind: ErrCRC, Tag: TagCRC, Offset: max(n-8, 0),
			Detail: `payload does not end with "6304" and four hex digits`}
	}
	got, want := payload[n-4:], CRC(payload[:n-4])
	if got != want {
		return &Error{Kind: ErrCRC, Tag: TagCRC, Offset: n - 4,
			Detail: fmt.Sprintf("checksum is %q, computed %s", got, want)}
	}
	return nil
}
