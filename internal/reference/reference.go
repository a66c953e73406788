// Package reference makes the business references kios hands out: a
// prefix, the date as yymmdd (or yyyymmdd), then random digits, e.g.
// TRX24070385294000934. They are hard to guess (11 random digits) and
// readable; uniqueness is enforced by the tables that store them, and a
// caller that meets a conflict simply draws again.
package reference

import (
	"crypto/rand"
	"math/big"
	"time"
)

// WIB is Western Indonesian Time (UTC+7), the zone of the dates in
// references and of the human notes.
var WIB = time.FixedZone("WIB", 7*60*60)

// Digits is how many random digits follow the date.
const Digits = 11

var limit = new(big.Int).Exp(big.NewInt(10), big.NewInt(Digits), nil)

// New returns prefix + yymmdd (in WIB) + 11 random digits.
func New(prefix string, now time.Time) string {
	return prefix + now.In(WIB).Format("060102") + random()
}

// NewLong returns prefix + yyyymmdd (in WIB) + 11 random digits, the form
// of the payment face.
func NewLong(prefix string, now time.Time) string {
	return prefix + now.In(WIB).Format("20060102") + random()
}

func random() string {
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		panic("reference: crypto/rand failed: " + err.Error())
	}
	s := n.String()
	for len(s) < Digits {
		s = "0" + s
	}
	return s
}
