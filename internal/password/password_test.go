package password

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"kios/internal/fault"
)

func TestMain(m *testing.M) {
	Cost = bcrypt.MinCost
	m.Run()
}

var lengths = []struct {
	name string
	pw   string
	ok   bool
}{
	{"empty", "", false},
	{"7 bytes", "1234567", false},
	{"8 bytes", "12345678", true},
	{"72 bytes", strings.Repeat("x", 72), true},
	{"73 bytes", strings.Repeat("x", 73), false},
	// 24 three-byte runes are 72 bytes; 25 are 75.
	{"72 bytes of UTF-8", strings.Repeat("€", 24), true},
	{"75 bytes of UTF-8", strings.Repeat("€", 25), false},
}

func TestHashLengthRules(t *testing.T) {
	for _, tc := range lengths {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Hash(tc.pw)
			if !tc.ok {
				if fault.CodeOf(err) != fault.Invalid || fault.FieldOf(err) != "password" {
					t.Fatalf("Hash = %q, %v; want an invalid-password fault", h, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !Check(h, tc.pw) {
				t.Fatal("Check refused the password just hashed")
			}
		})
	}
}

func TestHashAndCheck(t *testing.T) {
	h, err := Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "correct horse") || !strings.HasPrefix(h, "$2a$") {
		t.Fatalf("hash %q is not a bcrypt hash of the password", h)
	}
	if cost, _ := bcrypt.Cost([]byte(h)); cost != Cost {
		t.Fatalf("cost %d, want %d", cost, Cost)
	}
	if !Check(h, "correct horse") {
		t.Fatal("right password refused")
	}
	for _, wrong := range []string{"correct hors", "correct horse ", "Correct horse", ""} {
		if Check(h, wrong) {
			t.Fatalf("wrong password %q accepted", wrong)
		}
	}
	if Check("", "correct horse") || Check("not a hash", "correct horse") {
		t.Fatal("Check accepted a password against a malformed hash")
	}
	h2, _ := Hash("correct horse")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

func TestCheckAbsent(t *testing.T) {
	for _, pw := range []string{"", "kios: no such user, no such password", "anything"} {
		if CheckAbsent(pw) {
			t.Fatalf("CheckAbsent(%q) = true", pw)
		}
	}
}

// initialCost is Cost as the package sets it, before TestMain lowers it.
var initialCost = Cost

func TestDefaultCost(t *testing.T) {
	if initialCost != bcrypt.DefaultCost {
		t.Fatalf("Cost starts at %d, want bcrypt.DefaultCost (%d)", initialCost, bcrypt.DefaultCost)
	}
}
