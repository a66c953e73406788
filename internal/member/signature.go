package member

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"kios/internal/token"
)

// SignatureWindow is how far the time in a signed Signature header may be
// from the server's clock, either way.
const SignatureWindow = 5 * time.Minute

// CheckSignature checks the Signature header of a request whose raw body is
// body, at time now. It accepts two forms:
//
//   - The compatible form, what existing prepaid clients send: the secret
//     key itself. Its SHA-256 is compared with the stored one in constant
//     time. A credential that is SignedOnly refuses this form.
//   - The signed form, "t=<unix seconds>,v1=<hex HMAC-SHA256>", where the
//     HMAC is computed with the secret key over "<t>.<raw body>" and t is
//     within SignatureWindow of now. Several v1= values may be given (a
//     client rotating keys, say): each must be 64 hex digits, and one that
//     matches is enough. Keys other than t and v1 are ignored, for later
//     schemes.
//
// The server keeps only SHA-256(secret), yet can check the HMAC: HMAC
// (RFC 2104) first replaces a key longer than the hash's block size (64
// bytes for SHA-256) by the hash of the key, so with a secret of
// SecretKeyLen = 72 bytes
//
//	HMAC-SHA256(secret, m) == HMAC-SHA256(SHA-256(secret), m)
//
// where SHA-256(secret) is the raw 32 bytes of the stored hex. Clients
// therefore sign with the plain secret (PHP's hash_hmac('sha256', …,
// $secret) and the like), and the server with the stored hash. This holds
// only because the secret is longer than 64 bytes: shorter secrets would be
// padded instead of hashed.
//
// A consequence to keep in mind: the stored hash is enough to make valid
// signed-form signatures (though not the compatible form, which needs the
// secret itself), so the credentials table must be guarded like the secrets.
//
// Every failure is ErrBadSignature, wrapped with a reason for logs; no
// reason contains the header, the secret or a hash.
func (c Credential) CheckSignature(header string, body []byte, now time.Time) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return fmt.Errorf("%w: no Signature header", ErrBadSignature)
	}
	// A secret is base62 and never contains '=': anything that does is the
	// signed form.
	if !strings.Contains(header, "=") {
		if c.SignedOnly {
			return fmt.Errorf("%w: the credential accepts only the signed form", ErrBadSignature)
		}
		got := token.Hash(header)
		if len(c.secretHash) != len(got) || subtle.ConstantTimeCompare([]byte(got), []byte(c.secretHash)) != 1 {
			return fmt.Errorf("%w: wrong secret key", ErrBadSignature)
		}
		return nil
	}
	return c.checkSigned(header, body, now)
}

// checkSigned checks the signed form "t=…,v1=…[,v1=…]".
func (c Credential) checkSigned(header string, body []byte, now time.Time) error {
	var (
		ts   string
		macs [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: malformed", ErrBadSignature)
		}
		switch k {
		case "t":
			if ts != "" || v == "" || len(v) > 18 || strings.Trim(v, "0123456789") != "" {
				return fmt.Errorf("%w: malformed timestamp", ErrBadSignature)
			}
			ts = v
		case "v1":
			mac, err := hex.DecodeString(v)
			if err != nil || len(mac) != sha256.Size {
				return fmt.Errorf("%w: v1 is not a hex HMAC-SHA256", ErrBadSignature)
			}
			macs = append(macs, mac)
		}
	}
	if ts == "" || len(macs) == 0 {
		return fmt.Errorf("%w: malformed, t and v1 are required", ErrBadSignature)
	}
	t, _ := strconv.ParseInt(ts, 10, 64) // at most 18 digits: cannot overflow
	if d := now.Unix() - t; d > int64(SignatureWindow/time.Second) || d < -int64(SignatureWindow/time.Second) {
		return fmt.Errorf("%w: timestamp outside the %v window", ErrBadSignature, SignatureWindow)
	}
	key, err := hex.DecodeString(c.secretHash)
	if err != nil || len(key) != sha256.Size {
		// Never sign with an empty or broken key: a zero Credential must
		// not accept an HMAC made with the empty key.
		return fmt.Errorf("%w: the credential has no secret", ErrBadSignature)
	}
	h := hmac.New(sha256.New, key)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	want := h.Sum(nil)
	for _, mac := range macs {
		if hmac.Equal(mac, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 matches", ErrBadSignature)
}
