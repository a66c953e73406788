package member

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/token"
)

// clientSign signs as a client does, e.g. PHP's
// hash_hmac('sha256', "$t.$body", $secret): with the plain secret key.
func clientSign(secret string, t int64, body string) string {
	h := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(h, "%d.%s", t, body)
	return hex.EncodeToString(h.Sum(nil))
}

func signed(secret string, t int64, body string) string {
	return fmt.Sprintf("t=%d,v1=%s", t, clientSign(secret, t, body))
}

var (
	sigSecret = token.New(SecretKeyLen)
	sigOther  = token.New(SecretKeyLen)
	sigBody   = `{"product_code":"ML86","customer_id":"12345678","partner_reference":"INV-1"}`
	sigNow    = time.Date(2026, 11, 21, 8, 0, 0, 400_000_000, time.UTC)
	sigT      = sigNow.Unix()
	goodMAC   = clientSign(sigSecret, sigT, sigBody)
)

var signatureTests = []struct {
	name       string
	header     string
	body       string // sigBody when empty
	signedOnly bool
	ok         bool
}{
	{"plain secret", sigSecret, "", false, true},
	{"plain secret with spaces around", " " + sigSecret + " ", "", false, true},
	{"plain secret, signed-only", sigSecret, "", true, false},
	{"plain wrong secret", sigOther, "", false, false},
	{"plain secret cut short", sigSecret[:71], "", false, false},
	{"plain secret's hash", token.Hash(sigSecret), "", false, false},
	{"HMAC", signed(sigSecret, sigT, sigBody), "", false, true},
	{"HMAC, signed-only", signed(sigSecret, sigT, sigBody), "", true, true},
	{"HMAC, empty body", signed(sigSecret, sigT, ""), "-", false, true},
	{"HMAC with spaces", fmt.Sprintf(" t=%d , v1=%s ", sigT, goodMAC), "", false, true},
	{"HMAC in upper-case hex", fmt.Sprintf("t=%d,v1=%s", sigT, strings.ToUpper(goodMAC)), "", false, true},
	{"HMAC, v1 before t", fmt.Sprintf("v1=%s,t=%d", goodMAC, sigT), "", false, true},
	{"HMAC, unknown scheme ignored", fmt.Sprintf("t=%d,v0=xyz,v1=%s", sigT, goodMAC), "", false, true},
	{"HMAC, second v1 matches", fmt.Sprintf("t=%d,v1=%s,v1=%s", sigT, clientSign(sigOther, sigT, sigBody), goodMAC), "", false, true},
	{"HMAC, no v1 matches", fmt.Sprintf("t=%d,v1=%s,v1=%s", sigT, clientSign(sigOther, sigT, sigBody), clientSign(sigOther, sigT+1, sigBody)), "", false, false},
	{"HMAC with wrong secret", signed(sigOther, sigT, sigBody), "", false, false},
	{"HMAC with the hash as key, hex", signed(token.Hash(sigSecret), sigT, sigBody), "", false, false},
	{"HMAC of another body", signed(sigSecret, sigT, sigBody+" "), "", false, false},
	{"HMAC, t changed", fmt.Sprintf("t=%d,v1=%s", sigT+1, goodMAC), "", false, false},
	{"HMAC 299 s old", signed(sigSecret, sigT-299, sigBody), "", false, true},
	{"HMAC 299 s ahead", signed(sigSecret, sigT+299, sigBody), "", false, true},
	{"HMAC 300 s old", signed(sigSecret, sigT-300, sigBody), "", false, true},
	{"HMAC 300 s ahead", signed(sigSecret, sigT+300, sigBody), "", false, true},
	{"HMAC 301 s old", signed(sigSecret, sigT-301, sigBody), "", false, false},
	{"HMAC 301 s ahead", signed(sigSecret, sigT+301, sigBody), "", false, false},
	{"HMAC in milliseconds", signed(sigSecret, sigNow.UnixMilli(), sigBody), "", false, false},
	{"missing", "", "", false, false},
	{"blank", "   ", "", false, false},
	{"malformed: t only", fmt.Sprintf("t=%d", sigT), "", false, false},
	{"malformed: v1 only", "v1=" + goodMAC, "", false, false},
	{"malformed: t twice", fmt.Sprintf("t=%d,t=%d,v1=%s", sigT, sigT, goodMAC), "", false, false},
	{"malformed: t not a number", "t=now,v1=" + goodMAC, "", false, false},
	{"malformed: t negative", fmt.Sprintf("t=-%d,v1=%s", sigT, goodMAC), "", false, false},
	{"malformed: t empty", "t=,v1=" + goodMAC, "", false, false},
	{"malformed: part without =", fmt.Sprintf("t=%d,v1=%s,junk", sigT, goodMAC), "", false, false},
	{"malformed: semicolons", fmt.Sprintf("t=%d;v1=%s", sigT, goodMAC), "", false, false},
	{"bad hex", fmt.Sprintf("t=%d,v1=%s", sigT, "zz"+goodMAC[2:]), "", false, false},
	{"bad hex even when another v1 matches", fmt.Sprintf("t=%d,v1=%s,v1=%s", sigT, goodMAC, "zz"+goodMAC[2:]), "", false, false},
	{"short hex", fmt.Sprintf("t=%d,v1=%s", sigT, goodMAC[:62]), "", false, false},
	{"base64 instead of hex", fmt.Sprintf("t=%d,v1=%s", sigT, "q83vEjRWeJA="), "", false, false},
}

func TestCheckSignature(t *testing.T) {
	for _, tc := range signatureTests {
		t.Run(tc.name, func(t *testing.T) {
			c := Credential{SignedOnly: tc.signedOnly, secretHash: token.Hash(sigSecret)}
			body := tc.body
			switch body {
			case "":
				body = sigBody
			case "-":
				body = ""
			}
			err := c.CheckSignature(tc.header, []byte(body), sigNow)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("err = %v, want ErrBadSignature", err)
			}
			msg := err.Error()
			for _, secret := range []string{sigSecret, token.Hash(sigSecret), goodMAC, strings.TrimSpace(tc.header)} {
				if secret != "" && len(secret) > 8 && strings.Contains(msg, secret) {
					t.Fatalf("the error %q quotes a secret or the header", msg)
				}
			}
		})
	}
}

// TestHMACKeyEquivalence is the property CheckSignature rests on: because
// the secret is longer than SHA-256's 64-byte block, HMAC with the secret
// equals HMAC with its SHA-256.
func TestHMACKeyEquivalence(t *testing.T) {
	if SecretKeyLen <= sha256.BlockSize {
		t.Fatalf("SecretKeyLen = %d: the server could not check HMACs from the stored hash", SecretKeyLen)
	}
	sum := sha256.Sum256([]byte(sigSecret))
	h := hmac.New(sha256.New, sum[:])
	fmt.Fprintf(h, "%d.%s", sigT, sigBody)
	if got := hex.EncodeToString(h.Sum(nil)); got != goodMAC {
		t.Fatalf("HMAC(SHA-256(secret)) = %s, HMAC(secret) = %s", got, goodMAC)
	}
}

// TestZeroCredentialRefusesEverything guards against an HMAC made with the
// empty key passing a credential that has no secret hash.
func TestZeroCredentialRefusesEverything(t *testing.T) {
	var c Credential
	h := hmac.New(sha256.New, nil)
	fmt.Fprintf(h, "%d.%s", sigT, sigBody)
	for _, header := range []string{
		fmt.Sprintf("t=%d,v1=%x", sigT, h.Sum(nil)),
		"",
		"x",
	} {
		if err := c.CheckSignature(header, []byte(sigBody), sigNow); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("zero credential accepted %q: %v", header, err)
		}
	}
}

// TestSignatureEndToEnd issues a credential, and signs as a client would
// with what it was given: the server, holding only hashes, accepts it.
func TestSignatureEndToEnd(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		m := mustAdd(t, s, NewMember{Username: "budi"})
		is := mustCreate(t, s, NewCredential{MemberID: m.ID, SignedOnly: true})
		c, _, err := s.Authenticate(ctx, is.APIKey)
		if err != nil {
			t.Fatal(err)
		}
		body := `{"amount":50000}`
		ts := now.Unix()
		if err := c.CheckSignature(signed(is.SecretKey, ts, body), []byte(body), now); err != nil {
			t.Fatalf("client-signed request refused: %v", err)
		}
		if err := c.CheckSignature(signed(is.SecretKey, ts, body), []byte(`{"amount":90000}`), now); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("tampered body accepted: %v", err)
		}
		if err := c.CheckSignature(is.SecretKey, []byte(body), now); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("plain secret accepted by a signed-only credential: %v", err)
		}
	})
}
