package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The header names a signed message carries. The first three are the
// Standard Webhooks headers; HeaderHex is kios's hex HMAC of the body.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
	HeaderHex       = "Signature"
)

// SecretPrefix starts every signing secret, as in Standard Webhooks.
const SecretPrefix = "whsec_"

// secretBytes is the size of the random key in a new secret. Standard
// Webhooks asks for between minKeyBytes and maxKeyBytes.
const (
	secretBytes = 32
	minKeyBytes = 24
	maxKeyBytes = 64
)

// DefaultTolerance is how far a message's timestamp may be from the
// receiver's clock, either way, before Verify rejects it as a replay.
const DefaultTolerance = 5 * time.Minute

// The errors Verify and Sign return, wrapped with the header at fault. None
// of them ever carries a secret.
var (
	ErrSecret       = errors.New("webhook: malformed signing secret")
	ErrMissing      = errors.New("webhook: missing header")
	ErrMalformed    = errors.New("webhook: malformed header")
	ErrTimestamp    = errors.New("webhook: timestamp outside tolerance")
	ErrNoSignature  = errors.New("webhook: no matching signature")
	ErrInvalidInput = errors.New("webhook: invalid input")
)

// Headers are the signature headers of one message, as their values are
// sent.
//
// Signature is the webhook-signature value: one "v1,<base64>" entry per
// secret, separated by spaces, each HMAC-SHA256(key, "<id>.<timestamp>.<body>")
// where key is the base64-decoded part of the secret after "whsec_".
//
// Hex is the Signature header value: one lower-case hex
// HMAC-SHA256(secret, body) per secret, separated by spaces, in the same
// order as Signature. Its key is the whole secret string as the member
// stores it, "whsec_" included, so that PHP's
// hash_hmac('sha256', $body, $secret) gives it. Outside a rotation there is
// one secret, so Hex is a single value and a receiver compares it whole;
// during a rotation (a new secret issued while the old one keeps signing for
// 24 hours) a receiver splits it on spaces and accepts any match.
type Headers struct {
	ID        string // webhook-id
	Timestamp string // webhook-timestamp, unix seconds
	Signature string // webhook-signature
	Hex       string // Signature
}

// Set writes h into hdr, replacing any values already there.
func (h Headers) Set(hdr http.Header) {
	hdr.Set(HeaderID, h.ID)
	hdr.Set(HeaderTimestamp, h.Timestamp)
	hdr.Set(HeaderSignature, h.Signature)
	hdr.Set(HeaderHex, h.Hex)
}

// HeadersFrom reads the signature headers from hdr. Absent headers are
// empty.
func HeadersFrom(hdr http.Header) Headers {
	return Headers{
		ID:        hdr.Get(HeaderID),
		Timestamp: hdr.Get(HeaderTimestamp),
		Signature: hdr.Get(HeaderSignature),
		Hex:       hdr.Get(HeaderHex),
	}
}

// NewSecret returns a new signing secret: "whsec_" followed by the standard
// base64 of 32 random bytes.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook: new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// secretKey returns the HMAC key of a Standard Webhooks signature: the
// base64-decoded part of secret after "whsec_".
func secretKey(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: no %q prefix", ErrSecret, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: not standard base64", ErrSecret)
	}
	if len(key) < minKeyBytes || len(key) > maxKeyBytes {
		return nil, fmt.Errorf("%w: key of %d bytes, want %d to %d", ErrSecret, len(key), minKeyBytes, maxKeyBytes)
	}
	return key, nil
}

// validID reports whether id can be a webhook-id: not empty, printable
// ASCII without spaces, so that it is one token in a header and in the
// signed content.
func validID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// Sign returns the headers of a message with the given id, sent at ts with
// body, signed with every secret in secrets (newest first during a
// rotation). Each entry of Signature and of Hex is made with the secret at
// the same position.
func Sign(secrets []string, id string, ts time.Time, body []byte) (Headers, error) {
	if len(secrets) == 0 {
		return Headers{}, fmt.Errorf("%w: no signing secret", ErrInvalidInput)
	}
	if !validID(id) {
		return Headers{}, fmt.Errorf("%w: webhook id must be printable ASCII without spaces", ErrInvalidInput)
	}
	stamp := strconv.FormatInt(ts.Unix(), 10)
	sigs := make([]string, 0, len(secrets))
	hexes := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			return Headers{}, err
		}
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(standardMAC(key, id, stamp, body)))
		hexes = append(hexes, hex.EncodeToString(hexMAC(s, body)))
	}
	return Headers{
		ID:        id,
		Timestamp: stamp,
		Signature: strings.Join(sigs, " "),
		Hex:       strings.Join(hexes, " "),
	}, nil
}

// standardMAC is HMAC-SHA256(key, "<id>.<stamp>.<body>").
func standardMAC(key []byte, id, stamp string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(stamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// hexMAC is HMAC-SHA256(secret, body), keyed with the secret's text.
func hexMAC(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a message as a receiver holding secret would: all four
// headers are present, the timestamp is within tolerance of now either way
// (DefaultTolerance when tolerance is not positive), one v1 entry of
// webhook-signature matches, and one value of Signature matches. Every
// comparison is in constant time. Entries of another version than v1 are
// ignored.
func Verify(secret string, h Headers, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	for _, f := range []struct{ name, value string }{
		{HeaderID, h.ID}, {HeaderTimestamp, h.Timestamp},
		{HeaderSignature, h.Signature}, {HeaderHex, h.Hex},
	} {
		if f.value == "" {
			return fmt.Errorf("%w: %s", ErrMissing, f.name)
		}
	}
	sec, err := strconv.ParseInt(h.Timestamp, 10, 64)
	if err != nil || h.Timestamp[0] == '+' {
		return fmt.Errorf("%w: %s is not unix seconds", ErrMalformed, HeaderTimestamp)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s is %s from now", ErrTimestamp, HeaderTimestamp, d.Round(time.Second))
	}

	want := standardMAC(key, h.ID, h.Timestamp, body)
	found, wellFormed := false, false
	for _, entry := range strings.Fields(h.Signature) {
		version, enc, ok := strings.Cut(entry, ",")
		if !ok {
			continue
		}
		if version != "v1" {
			wellFormed = true // another scheme, not ours to judge
			continue
		}
		got, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			continue
		}
		wellFormed = true
		if hmac.Equal(got, want) {
			found = true
		}
	}
	if !wellFormed {
		return fmt.Errorf("%w: %s has no v1,<base64> entry", ErrMalformed, HeaderSignature)
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrNoSignature, HeaderSignature)
	}

	wantHex := hexMAC(secret, body)
	found = false
	for _, v := range strings.Fields(h.Hex) {
		got, err := hex.DecodeString(v)
		if err != nil {
			return fmt.Errorf("%w: %s is not hex", ErrMalformed, HeaderHex)
		}
		if hmac.Equal(got, wantHex) {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrNoSignature, HeaderHex)
	}
	return nil
}
