package webhook

import (
	"testing"
	"time"
)

// TestStatusBody: the transaction_status body of orders and funding, byte
// for byte: the references' keys in order, partner_reference only when
// given, an empty sn sent as "N/A", sent_at in UTC to the microsecond.
func TestStatusBody(t *testing.T) {
	at := time.Date(2026, 11, 21, 20, 5, 6, 123456789, time.FixedZone("WIB", 7*3600))
	for _, c := range []struct {
		name, partner, sn string
		want              string
	}{
		{"order with its partner_reference", "INV-1", "SN123",
			`{"webhook_type":"transaction_status","reference":"TRX1","partner_reference":"INV-1","status":"success","sn":"SN123","note":"n","sent_at":"2026-11-21T13:05:06.123456Z"}`},
		{"no partner_reference, no sn", "", "",
			`{"webhook_type":"transaction_status","reference":"TRX1","status":"success","sn":"N/A","note":"n","sent_at":"2026-11-21T13:05:06.123456Z"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := StatusBody("TRX1", c.partner, "success", c.sn, "n", at)
			if err != nil || string(got) != c.want {
				t.Fatalf("got %s (%v)\nwant %s", got, err, c.want)
			}
		})
	}
}
