// Package token makes the random strings kios hands out as keys, secrets and
// tokens, and the one-way hash under which it stores them.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// alphabet is base62: digits, upper and lower case letters.
const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// limit is the largest multiple of len(alphabet) that fits in a byte (248).
// Random bytes at or above it are dropped, so that every character of the
// alphabet is equally likely (b % 62 on all 256 values would favour the
// first 8 characters).
const limit = 256 / len(alphabet) * len(alphabet)

// New returns n characters drawn uniformly from the base62 alphabet, using
// crypto/rand. Each character carries log2(62) ≈ 5.95 bits of entropy.
func New(n int) string {
	if n <= 0 {
		return ""
	}
	out := make([]byte, 0, n)
	// 248 of 256 byte values are kept, so a buffer a little larger than n
	// almost always fills the token in one read.
	buf := make([]byte, n+n/16+8)
	for len(out) < n {
		rand.Read(buf) // never fails: crypto/rand aborts the program instead
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, alphabet[int(b)%len(alphabet)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out)
}

// Hash returns the lower-case hex SHA-256 of s, the form in which keys,
// secrets and tokens are stored. The strings hashed are long and random, so
// a fast unsalted hash is enough: there is nothing to guess a dictionary
// from.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
