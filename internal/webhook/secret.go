package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeySize is the size of the master key that encrypts signing secrets
// at rest: an AES-256 key.
const MasterKeySize = 32

// sealVersion starts every sealed secret, so that the scheme can change
// later without guessing what a stored value is.
const sealVersion = "v1:"

// The errors of the master key and of a Keyring. None of them ever carries a
// key or a plaintext.
var (
	ErrMasterKey = errors.New("webhook: master key must be 32 bytes, as standard base64, URL base64 or hex")
	ErrSealed    = errors.New("webhook: sealed secret is malformed")
	ErrOpen      = errors.New("webhook: cannot open sealed secret: wrong master key or altered data")
)

// A Keyring encrypts signing secrets at rest with AES-256-GCM under one
// master key. It is safe for concurrent use.
type Keyring struct {
	aead cipher.AEAD
}

// NewKeyring returns a Keyring for masterKey, which must be 32 bytes.
func NewKeyring(masterKey []byte) (*Keyring, error) {
	if len(masterKey) != MasterKeySize {
		return nil, ErrMasterKey
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("webhook: keyring: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("webhook: keyring: %w", err)
	}
	return &Keyring{aead: aead}, nil
}

// Seal encrypts plaintext under a fresh random nonce and returns
// "v1:" followed by the standard base64 of the nonce and the ciphertext.
// Sealing the same text twice gives different results.
func (k *Keyring) Seal(plaintext string) (string, error) {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("webhook: seal: %w", err)
	}
	out := k.aead.Seal(nonce, nonce, []byte(plaintext), []byte(sealVersion))
	return sealVersion + base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal. It fails with ErrSealed when sealed is
// not in Seal's format and with ErrOpen when the master key is not the one
// that sealed it or the value was altered.
func (k *Keyring) Open(sealed string) (string, error) {
	enc, ok := strings.CutPrefix(sealed, sealVersion)
	if !ok {
		return "", fmt.Errorf("%w: unknown version", ErrSealed)
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("%w: not standard base64", ErrSealed)
	}
	ns := k.aead.NonceSize()
	if len(raw) < ns+k.aead.Overhead() {
		return "", fmt.Errorf("%w: too short", ErrSealed)
	}
	plain, err := k.aead.Open(nil, raw[:ns], raw[ns:], []byte(sealVersion))
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}

// ParseMasterKey decodes a master key as given in KIOS_MASTER_KEY or in a
// key file: 32 bytes written as standard base64 (padded or not), URL-safe
// base64, or hex. Surrounding white space is ignored.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == MasterKeySize {
			return b, nil
		}
	}
	return nil, ErrMasterKey
}

// LoadOrCreateKeyFile returns the master key kept in the file at path,
// creating the file first with a new random key, as standard base64 and
// mode 0600, when there is none; created reports whether it did. The file is
// created whole or not at all, and when several processes race to create
// it, all of them end up with the key of the one that won.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	key, err = readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("webhook: master key file: %w", err)
	}
	key = make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("webhook: master key file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".master-key-*") // mode 0600
	if err != nil {
		return nil, false, fmt.Errorf("webhook: master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("webhook: master key file: %w", err)
	}
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("webhook: master key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("webhook: master key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("webhook: master key file: %w", err)
	}
	// A hard link never replaces an existing file: if another process
	// created the key file meanwhile, use its key.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			key, err = readKeyFile(path)
			return key, false, err
		}
		return nil, false, fmt.Errorf("webhook: master key file: %w", err)
	}
	return key, true, nil
}

// readKeyFile reads and parses the master key file at path. Its errors name
// the file, never its content.
func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("webhook: master key file: %w", err)
	}
	key, err := ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("webhook: master key file %s: %w", path, err)
	}
	return key, nil
}
