package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustKeyring(t *testing.T, key []byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var (
	keyA = bytes.Repeat([]byte{0xA1}, 32)
	keyB = bytes.Repeat([]byte{0xB2}, 32)
)

const plainSecret = "whsec_a2lvcy10ZXN0LXZlY3Rvci1zZWNyZXQtMzItYnl0ZXM="

func TestKeyringRoundTrip(t *testing.T) {
	k := mustKeyring(t, keyA)
	for _, p := range []string{plainSecret, "", "ü and 日本"} {
		sealed, err := k.Seal(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1:") {
			t.Errorf("sealed %q has no version prefix", sealed)
		}
		if p != "" && strings.Contains(sealed, p) {
			t.Errorf("sealed value shows the plaintext")
		}
		got, err := k.Open(sealed)
		if err != nil || got != p {
			t.Errorf("Open(Seal(%q)) = %q, %v", p, got, err)
		}
	}
}

func TestSealIsRandomized(t *testing.T) {
	k := mustKeyring(t, keyA)
	a, _ := k.Seal(plainSecret)
	b, _ := k.Seal(plainSecret)
	if a == b {
		t.Fatal("two Seals of the same text are equal")
	}
}

func TestOpenFails(t *testing.T) {
	sealed, err := mustKeyring(t, keyA).Seal(plainSecret)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return "v1:" + base64.StdEncoding.EncodeToString(b)
	}
	cases := []struct {
		name   string
		key    []byte
		sealed string
		want   error
	}{
		{"wrong key", keyB, sealed, ErrOpen},
		{"tampered nonce", keyA, flip(0), ErrOpen},
		{"tampered ciphertext", keyA, flip(len(raw) / 2), ErrOpen},
		{"tampered tag", keyA, flip(len(raw) - 1), ErrOpen},
		{"truncated", keyA, "v1:" + base64.StdEncoding.EncodeToString(raw[:20]), ErrSealed},
		{"unknown version", keyA, "v2:" + strings.TrimPrefix(sealed, "v1:"), ErrSealed},
		{"no version", keyA, strings.TrimPrefix(sealed, "v1:"), ErrSealed},
		{"not base64", keyA, "v1:***", ErrSealed},
		{"plaintext stored by mistake", keyA, plainSecret, ErrSealed},
	}
	for _, c := range cases {
		got, err := mustKeyring(t, c.key).Open(c.sealed)
		if !errors.Is(err, c.want) || got != "" {
			t.Errorf("%s: Open = %q, %v; want %v", c.name, got, err, c.want)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, plainSecret) || strings.Contains(msg, "a2lvcy10") ||
			strings.Contains(msg, hex.EncodeToString(c.key)) || strings.Contains(msg, base64.StdEncoding.EncodeToString(c.key)) {
			t.Errorf("%s: error %q shows the plaintext or the key", c.name, msg)
		}
	}
}

func TestNewKeyringSize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := NewKeyring(make([]byte, n)); !errors.Is(err, ErrMasterKey) {
			t.Errorf("NewKeyring(%d bytes) = %v, want ErrMasterKey", n, err)
		}
	}
}

var parseKeyCases = []struct {
	name string
	in   string
	ok   bool
}{
	{"hex", hex.EncodeToString(keyA), true},
	{"hex upper case", strings.ToUpper(hex.EncodeToString(keyA)), true},
	{"standard base64", base64.StdEncoding.EncodeToString(keyA), true},
	{"unpadded base64", base64.RawStdEncoding.EncodeToString(keyA), true},
	{"URL base64", base64.URLEncoding.EncodeToString(keyA), true},
	{"with white space", "  " + base64.StdEncoding.EncodeToString(keyA) + "\n", true},
	{"empty", "", false},
	{"16 bytes", hex.EncodeToString(keyA[:16]), false},
	{"33 bytes", base64.StdEncoding.EncodeToString(append(keyA, 1)), false},
	{"a passphrase", "correct horse battery staple", false},
}

func TestParseMasterKey(t *testing.T) {
	for _, c := range parseKeyCases {
		key, err := ParseMasterKey(c.in)
		if c.ok && (err != nil || !bytes.Equal(key, keyA)) {
			t.Errorf("%s: ParseMasterKey = %x, %v", c.name, key, err)
		}
		if !c.ok {
			if !errors.Is(err, ErrMasterKey) {
				t.Errorf("%s: ParseMasterKey err = %v, want ErrMasterKey", c.name, err)
			} else if c.in != "" && strings.Contains(err.Error(), c.in) {
				t.Errorf("%s: error shows the input", c.name)
			}
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "master.key")
	key, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created || len(key) != 32 {
		t.Fatalf("first call = %d bytes, created %v, %v", len(key), created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("key file mode %o, want 600", mode)
	}
	again, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second call: same key %v, created %v, %v", bytes.Equal(again, key), created, err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".master-key-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}

	// The key works in a keyring and a secret sealed under it opens after
	// a "restart".
	sealed, err := mustKeyring(t, key).Seal(plainSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := mustKeyring(t, again).Open(sealed); err != nil || got != plainSecret {
		t.Fatalf("Open after reload = %q, %v", got, err)
	}
}

func TestLoadOrCreateKeyFileRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	keys := make([][]byte, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], created[i], errs[i] = LoadOrCreateKeyFile(path) })
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("call %d got a different key", i)
		}
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Fatalf("%d calls report creating the file, want 1", creators)
	}
}

func TestLoadKeyFileMalformed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const content = "not a key at all"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, created, err := LoadOrCreateKeyFile(path)
	if !errors.Is(err, ErrMasterKey) || created {
		t.Fatalf("LoadOrCreateKeyFile = created %v, %v; want ErrMasterKey", created, err)
	}
	if strings.Contains(err.Error(), content) {
		t.Fatalf("error %q shows the file's content", err)
	}
	if b, _ := os.ReadFile(path); string(b) != content {
		t.Fatal("a malformed key file was replaced")
	}
}
