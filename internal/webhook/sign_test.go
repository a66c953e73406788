package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/signature_vectors.json from the current code")

// vectorsFile holds fixed inputs and the header values Sign gave for them
// when the file was written (go test -run TestSignatureVectors -update).
const vectorsFile = "testdata/signature_vectors.json"

// A vector is one fixed message and its signature headers.
type vector struct {
	Name      string   `json:"name"`
	Secrets   []string `json:"secrets"`
	ID        string   `json:"id"`
	Timestamp int64    `json:"timestamp"`
	Body      string   `json:"body"`
	// Signature is the webhook-signature value, Hex the Signature value.
	Signature string `json:"webhook_signature"`
	Hex       string `json:"signature"`
}

// vectorInputs are the inputs of the vectors file.
var vectorInputs = []vector{
	{
		Name:      "transaction_status",
		Secrets:   []string{"whsec_a2lvcy10ZXN0LXZlY3Rvci1zZWNyZXQtMzItYnl0ZXM="},
		ID:        "msg_2Vx9kQw7TnB4rLz1",
		Timestamp: 1767225600, // 2026-01-01T00:00:00Z
		Body:      `{"event":"transaction_status","reference":"KIOS-7Q2M9X","status":"success","price":15150,"sn":"0412-9981-2277"}`,
	},
	{
		// The Standard Webhooks reference libraries' own test message.
		Name:      "standard_webhooks_reference",
		Secrets:   []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		ID:        "msg_p5jXN8AQM9LWM0D4loKWxJek",
		Timestamp: 1614265330,
		Body:      `{"test": 2432232314}`,
	},
	{
		Name: "rotation",
		Secrets: []string{
			"whsec_bmV3LXNlY3JldC1rZXktZm9yLXJvdGF0aW9uLXRlc3Q=",
			"whsec_b2xkLXNlY3JldC1rZXktZm9yLXJvdGF0aW9uLXRlc3Q=",
		},
		ID:        "msg_rotation_1",
		Timestamp: 1767225900,
		Body:      `{"event":"price_update","rows":[]}`,
	},
	{
		Name:      "empty_body",
		Secrets:   []string{"whsec_a2lvcy10ZXN0LXZlY3Rvci1zZWNyZXQtMzItYnl0ZXM="},
		ID:        "msg_empty",
		Timestamp: 0,
		Body:      "",
	},
}

func TestSignatureVectors(t *testing.T) {
	if *update {
		var out []vector
		for _, v := range vectorInputs {
			h, err := Sign(v.Secrets, v.ID, time.Unix(v.Timestamp, 0), []byte(v.Body))
			if err != nil {
				t.Fatalf("%s: %v", v.Name, err)
			}
			v.Signature, v.Hex = h.Signature, h.Hex
			out = append(out, v)
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var vectors []vector
	if err := json.Unmarshal(b, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) != len(vectorInputs) {
		t.Fatalf("%s has %d vectors, want %d", vectorsFile, len(vectors), len(vectorInputs))
	}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			h, err := Sign(v.Secrets, v.ID, time.Unix(v.Timestamp, 0), []byte(v.Body))
			if err != nil {
				t.Fatal(err)
			}
			want := Headers{ID: v.ID, Timestamp: strconv.FormatInt(v.Timestamp, 10), Signature: v.Signature, Hex: v.Hex}
			if h != want {
				t.Fatalf("Sign = %+v\nwant   %+v", h, want)
			}
			for i, s := range v.Secrets {
				if !independentVerify(s, v.ID, want.Timestamp, want.Signature, []byte(v.Body)) {
					t.Errorf("independent verifier rejects secret %d", i)
				}
				if !phpHashHMACMatches(s, want.Hex, []byte(v.Body)) {
					t.Errorf("hash_hmac equivalent rejects secret %d", i)
				}
			}
		})
	}
}

// TestStandardWebhooksReference pins the one published value we know of,
// so that the vectors file can't drift from Standard Webhooks unnoticed.
func TestStandardWebhooksReference(t *testing.T) {
	h, err := Sign([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; h.Signature != want {
		t.Fatalf("Signature = %q, want %q", h.Signature, want)
	}
}

// independentVerify checks a webhook-signature value written straight
// from the Standard Webhooks text, sharing no code with sign.go: the key is
// the base64 after "whsec_", the signed content is id "." timestamp "."
// body, the header holds space-delimited "v1,<base64>" signatures and any
// one matching is enough.
func independentVerify(secret, id, timestamp, header string, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "." + string(body)))
	expected := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Split(header, " ") {
		if hmac.Equal([]byte(sig), []byte(expected)) {
			return true
		}
	}
	return false
}

// phpHashHMACMatches is what a PHP receiver does:
// hash_equals(hash_hmac('sha256', $body, $secret), $signature), with the
// Signature header split on spaces during a rotation.
func phpHashHMACMatches(secret, header string, body []byte) bool {
	mac := hmac.New(sha256.New, []byte(secret)) // PHP passes the string's bytes as the key
	mac.Write(body)
	hashHMAC := hex.EncodeToString(mac.Sum(nil)) // lower-case hex, as hash_hmac returns
	for _, v := range strings.Split(header, " ") {
		if v == hashHMAC {
			return true
		}
	}
	return false
}

func TestHexIsHashHMACOfWholeSecret(t *testing.T) {
	secret := "whsec_a2lvcy10ZXN0LXZlY3Rvci1zZWNyZXQtMzItYnl0ZXM="
	body := []byte(`{"status":"success"}`)
	h, err := Sign([]string{secret}, "msg_1", time.Unix(1767225600, 0), body)
	if err != nil {
		t.Fatal(err)
	}
	// From outside Go, as PHP's hash_hmac computes it:
	// printf '%s' '{"status":"success"}' | openssl dgst -sha256 -hmac "$secret"
	if want := "53ebe5b721504976b575a8067c9f35f1bbbbf112753b3a3403cfa8aae69c0ebd"; h.Hex != want {
		t.Fatalf("Hex = %q, want the single value %q", h.Hex, want)
	}
}

func TestRotation(t *testing.T) {
	newS, oldS := mustSecret(t), mustSecret(t)
	body := []byte(`{"event":"transaction_status"}`)
	now := time.Unix(1767225600, 0)
	h, err := Sign([]string{newS, oldS}, "msg_rot", now, body)
	if err != nil {
		t.Fatal(err)
	}
	sigs, hexes := strings.Split(h.Signature, " "), strings.Split(h.Hex, " ")
	if len(sigs) != 2 || len(hexes) != 2 {
		t.Fatalf("want two signatures each, got %q and %q", h.Signature, h.Hex)
	}
	for i, s := range []string{newS, oldS} {
		if !independentVerify(s, h.ID, h.Timestamp, sigs[i], body) {
			t.Errorf("entry %d of webhook-signature is not made with secret %d", i, i)
		}
		if !phpHashHMACMatches(s, hexes[i], body) {
			t.Errorf("entry %d of Signature is not made with secret %d", i, i)
		}
		if err := Verify(s, h, body, now, 0); err != nil {
			t.Errorf("Verify with secret %d: %v", i, err)
		}
	}
	if err := Verify(mustSecret(t), h, body, now, 0); !errors.Is(err, ErrNoSignature) {
		t.Errorf("Verify with a third secret = %v, want ErrNoSignature", err)
	}
}

func mustSecret(t *testing.T) string {
	t.Helper()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewSecret(t *testing.T) {
	a, b := mustSecret(t), mustSecret(t)
	if a == b {
		t.Fatal("two secrets are equal")
	}
	enc, ok := strings.CutPrefix(a, "whsec_")
	if !ok {
		t.Fatalf("%q has no whsec_ prefix", a)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) != 32 {
		t.Fatalf("key of %q: %d bytes, %v", a, len(key), err)
	}
}

// verifySecret, verifyBody and verifyTime make the message the Verify
// cases alter.
var (
	verifySecret = "whsec_a2lvcy10ZXN0LXZlY3Rvci1zZWNyZXQtMzItYnl0ZXM="
	verifyBody   = []byte(`{"reference":"KIOS-1","status":"success"}`)
	verifyTime   = time.Unix(1767225600, 0)
)

var verifyCases = []struct {
	name   string
	secret string
	edit   func(h *Headers, body *[]byte)
	now    time.Time
	want   error // nil: accepted
}{
	{name: "valid", now: verifyTime},
	{name: "300s old", now: verifyTime.Add(300 * time.Second)},
	{name: "300s ahead", now: verifyTime.Add(-300 * time.Second)},
	{name: "301s old", now: verifyTime.Add(301 * time.Second), want: ErrTimestamp},
	{name: "301s in the future", now: verifyTime.Add(-301 * time.Second), want: ErrTimestamp},
	{name: "wrong secret", secret: "whsec_b3RoZXItc2VjcmV0LWtleS1mb3ItdmVyaWZ5LXRlc3Q=", now: verifyTime, want: ErrNoSignature},
	{name: "secret without prefix", secret: "a2lvcy10ZXN0LXZlY3Rvci1zZWNyZXQtMzItYnl0ZXM=", now: verifyTime, want: ErrSecret},
	{name: "altered body", now: verifyTime, want: ErrNoSignature,
		edit: func(h *Headers, b *[]byte) { *b = []byte(`{"reference":"KIOS-1","status":"failed"}`) }},
	{name: "altered id", now: verifyTime, want: ErrNoSignature,
		edit: func(h *Headers, b *[]byte) { h.ID = "msg_other" }},
	{name: "altered timestamp", now: verifyTime, want: ErrNoSignature,
		edit: func(h *Headers, b *[]byte) { h.Timestamp = strconv.FormatInt(verifyTime.Unix()+1, 10) }},
	{name: "altered hex only", now: verifyTime, want: ErrNoSignature,
		edit: func(h *Headers, b *[]byte) { h.Hex = strings.Repeat("0", 64) }},
	{name: "missing id", now: verifyTime, want: ErrMissing,
		edit: func(h *Headers, b *[]byte) { h.ID = "" }},
	{name: "missing signature", now: verifyTime, want: ErrMissing,
		edit: func(h *Headers, b *[]byte) { h.Signature = "" }},
	{name: "missing hex", now: verifyTime, want: ErrMissing,
		edit: func(h *Headers, b *[]byte) { h.Hex = "" }},
	{name: "timestamp not a number", now: verifyTime, want: ErrMalformed,
		edit: func(h *Headers, b *[]byte) { h.Timestamp = "2026-01-01T00:00:00Z" }},
	{name: "signature without version", now: verifyTime, want: ErrMalformed,
		edit: func(h *Headers, b *[]byte) { h.Signature = strings.TrimPrefix(h.Signature, "v1,") }},
	{name: "signature not base64", now: verifyTime, want: ErrMalformed,
		edit: func(h *Headers, b *[]byte) { h.Signature = "v1,!!!not-base64!!!" }},
	{name: "hex not hex", now: verifyTime, want: ErrMalformed,
		edit: func(h *Headers, b *[]byte) { h.Hex = "zz" + h.Hex[2:] }},
	{name: "other versions beside v1", now: verifyTime,
		edit: func(h *Headers, b *[]byte) { h.Signature = "v1a,c29tZXRoaW5n " + h.Signature + " v2,xyz" }},
}

func TestVerify(t *testing.T) {
	for _, c := range verifyCases {
		t.Run(c.name, func(t *testing.T) {
			h, err := Sign([]string{verifySecret}, "msg_verify", verifyTime, verifyBody)
			if err != nil {
				t.Fatal(err)
			}
			body := append([]byte(nil), verifyBody...)
			if c.edit != nil {
				c.edit(&h, &body)
			}
			secret := verifySecret
			if c.secret != "" {
				secret = c.secret
			}
			err = Verify(secret, h, body, c.now, 5*time.Minute)
			if c.want == nil && err != nil {
				t.Fatalf("Verify = %v, want nil", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q contains the secret", err)
			}
		})
	}
}

func TestHeadersSetAndFrom(t *testing.T) {
	h, err := Sign([]string{verifySecret}, "msg_hdr", verifyTime, verifyBody)
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{}
	h.Set(hdr)
	for name, want := range map[string]string{
		"Webhook-Id": h.ID, "Webhook-Timestamp": h.Timestamp,
		"Webhook-Signature": h.Signature, "Signature": h.Hex,
	} {
		if got := hdr[name]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want [%q]", name, got, want)
		}
	}
	if got := HeadersFrom(hdr); got != h {
		t.Fatalf("HeadersFrom = %+v, want %+v", got, h)
	}
	if err := Verify(verifySecret, HeadersFrom(hdr), verifyBody, verifyTime, 0); err != nil {
		t.Fatal(err)
	}
}

var signRejects = []struct {
	name    string
	secrets []string
	id      string
}{
	{"no secret", nil, "msg_1"},
	{"secret without prefix", []string{"a2lvcy10ZXN0LXZlY3Rvci1zZWNyZXQtMzItYnl0ZXM="}, "msg_1"},
	{"secret not base64", []string{"whsec_!!!"}, "msg_1"},
	{"key too short", []string{"whsec_c2hvcnQ="}, "msg_1"},
	{"empty id", []string{verifySecret}, ""},
	{"id with space", []string{verifySecret}, "msg 1"},
	{"id with newline", []string{verifySecret}, "msg_1\r\nX-Evil: 1"},
}

func TestSignRejects(t *testing.T) {
	for _, c := range signRejects {
		if _, err := Sign(c.secrets, c.id, verifyTime, verifyBody); err == nil {
			t.Errorf("%s: Sign succeeded", c.name)
		} else {
			for _, s := range c.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("%s: error %q contains the secret", c.name, err)
				}
			}
		}
	}
}
