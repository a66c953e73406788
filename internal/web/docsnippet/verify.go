// Package docsnippet holds the Go code that /docs shows receivers for
// checking kios's webhook signatures. The page shows this file's source
// (Source), and the tests check the code against messages signed by kios
// itself, so the example cannot drift from what kios sends.
package docsnippet

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// VerifyStandard checks the Standard Webhooks headers (webhook-id,
// webhook-timestamp, webhook-signature) of a message with body, signed
// with secret ("whsec_…"), and refuses a timestamp more than five minutes
// from now.
func VerifyStandard(secret string, h http.Header, body []byte, now time.Time) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	ts := h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	// During a secret rotation there are two signatures, space-separated.
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// VerifyHex checks the Signature header: the hex HMAC-SHA256 of the body
// keyed with the whole secret string, "whsec_" included.
func VerifyHex(secret string, h http.Header, body []byte) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("Signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}
