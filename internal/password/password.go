// Package password hashes and checks the passwords of members and operators
// with bcrypt.
package password

import (
	"sync"

	"golang.org/x/crypto/bcrypt"

	"kios/internal/fault"
)

// Length limits, in bytes. bcrypt looks at no more than 72 bytes, so a
// longer password would be silently truncated; it is refused instead.
const (
	MinLen = 8
	MaxLen = 72
)

// Cost is the bcrypt cost of new hashes. Tests may lower it to
// bcrypt.MinCost for speed; nothing else should change it.
var Cost = bcrypt.DefaultCost

// Validate checks pw's length and returns a *fault.Error of code Invalid
// about the field "password" when it is out of bounds.
func Validate(pw string) error {
	switch {
	case len(pw) < MinLen:
		return fault.Field(fault.Invalid, "password", "must be at least %d characters", MinLen)
	case len(pw) > MaxLen:
		return fault.Field(fault.Invalid, "password", "must be at most %d bytes", MaxLen)
	}
	return nil
}

// Hash validates pw and returns its bcrypt hash at Cost. It is slow on
// purpose (tens of milliseconds at the default cost): call it outside any
// database transaction.
func Hash(pw string) (string, error) {
	if err := Validate(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), Cost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// Check reports whether pw matches hash. The comparison is bcrypt's, which
// is constant-time in the password.
func Check(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

var (
	dummyOnce sync.Once
	dummyHash []byte
)

// CheckAbsent does the work of Check for a user that does not exist, against
// a hash no password matches, and returns false. Calling it on that path
// makes a sign-in with an unknown username take as long as one with a wrong
// password, so response times do not reveal which usernames exist.
func CheckAbsent(pw string) bool {
	dummyOnce.Do(func() {
		// A fixed input is fine: the point is the time spent, and
		// CheckAbsent returns false whatever the comparison says.
		dummyHash, _ = bcrypt.GenerateFromPassword([]byte("kios: no such user, no such password"), Cost)
	})
	bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
	return false
}
