package token

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strings"
	"testing"
)

func TestNewLengthAndAlphabet(t *testing.T) {
	for _, n := range []int{0, 1, 6, 40, 72, 1000} {
		s := New(n)
		if len(s) != n {
			t.Fatalf("New(%d) has length %d", n, len(s))
		}
		for _, c := range s {
			if !strings.ContainsRune(alphabet, c) {
				t.Fatalf("New(%d) = %q contains %q, not base62", n, s, c)
			}
		}
	}
	if New(-1) != "" {
		t.Fatal("New(-1) is not empty")
	}
}

func TestNewIsRandom(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := New(40)
		if seen[s] {
			t.Fatalf("New(40) repeated %q", s)
		}
		seen[s] = true
	}
}

// TestNewIsUniform draws many characters and checks, with a chi-squared
// test, that every character of the alphabet is equally likely. A modulo
// bias (keeping bytes 248–255) gives the first 8 characters 25% more weight,
// which this catches; a fair generator fails it about once in 10^6 runs.
func TestNewIsUniform(t *testing.T) {
	const draws = 2_000_000
	counts := map[rune]int{}
	for _, c := range New(draws) {
		counts[c]++
	}
	if len(counts) != len(alphabet) {
		t.Fatalf("%d distinct characters, want %d", len(counts), len(alphabet))
	}
	want := float64(draws) / float64(len(alphabet))
	var chi2 float64
	for _, c := range alphabet {
		d := float64(counts[c]) - want
		chi2 += d * d / want
	}
	// 61 degrees of freedom: mean 61, sd ≈ 11; 125 is beyond p = 1e-6.
	if chi2 > 125 || math.IsNaN(chi2) {
		t.Fatalf("chi-squared = %.1f over 61 degrees of freedom: the characters are not uniform", chi2)
	}
}

func TestHash(t *testing.T) {
	sum := sha256.Sum256([]byte("abc"))
	if got, want := Hash("abc"), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("Hash(abc) = %s, want %s", got, want)
	}
	if got := Hash("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("Hash(abc) = %s, not the SHA-256 test vector", got)
	}
}
