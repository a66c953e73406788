package admin

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"kios/internal/fault"
	"kios/internal/operator"
	"kios/internal/ratelimit"
)

// Family is a group of endpoints that one role check covers.
type Family string

// The endpoint families.
const (
	FamilyTransactions Family = "transactions" // the review queue of deposits and withdrawals
	FamilyMembers      Family = "members"      // members, their profile, history, downlines, credentials
	FamilyAdjustments  Family = "adjustments"  // manual balance changes
	FamilyBanks        Family = "banks"        // the platform's destination accounts
	FamilyIncoming     Family = "incoming"     // money coming in and the payments report
	FamilyOrders       Family = "orders"       // stuck orders and their resolution
	FamilyWebhooks     Family = "webhooks"     // deliveries and redelivery
	FamilyLedger       Family = "ledger"       // the ledger check
	FamilyStats        Family = "stats"        // counts and sums per day
	FamilyAudit        Family = "audit"        // the audit log
	FamilyCatalog      Family = "catalog"      // providers, products, prices, import
	FamilyStores       Family = "stores"       // members' QRIS stores
)

// access says which roles may read a family and which may change it.
type access struct{ read, write []operator.Role }

var (
	money      = []operator.Role{operator.Admin, operator.Finance}
	catalogers = []operator.Role{operator.Admin, operator.Catalog}
	admins     = []operator.Role{operator.Admin}
	// moneyReaders see money: the roles that handle it and viewers.
	moneyReaders = []operator.Role{operator.Admin, operator.Finance, operator.Viewer}
	everyone     = operator.Roles
)

// Access is the role table. admin may do everything; finance handles money
// (the review queue, adjustments, incoming funds, destination banks, the
// resolution of stuck orders, which refunds); catalog the catalog; viewer
// reads what finance reads, and the catalog. Changing members and
// redelivering webhooks is admin's alone.
var Access = map[Family]access{
	FamilyTransactions: {read: moneyReaders, write: money},
	FamilyMembers:      {read: moneyReaders, write: admins},
	FamilyAdjustments:  {read: moneyReaders, write: money},
	FamilyBanks:        {read: moneyReaders, write: money},
	FamilyIncoming:     {read: moneyReaders, write: money},
	FamilyOrders:       {read: moneyReaders, write: money},
	FamilyWebhooks:     {read: moneyReaders, write: admins},
	FamilyLedger:       {read: moneyReaders, write: admins},
	FamilyStats:        {read: everyone, write: admins},
	FamilyAudit:        {read: moneyReaders, write: admins},
	FamilyCatalog:      {read: everyone, write: catalogers},
	FamilyStores:       {read: moneyReaders, write: admins},
}

// Allowed reports whether role may read (write false) or change (write
// true) family. An unknown family allows admin only.
func Allowed(role operator.Role, f Family, write bool) bool {
	a, ok := Access[f]
	if !ok {
		return role == operator.Admin
	}
	if write {
		return slices.Contains(a.write, role)
	}
	return slices.Contains(a.read, role)
}

type ctxKey struct{}

// OperatorFrom returns the operator authenticated for the request.
func OperatorFrom(ctx context.Context) operator.Operator {
	op, _ := ctx.Value(ctxKey{}).(operator.Operator)
	return op
}

// Auth authenticates operator tokens and checks roles.
type Auth struct {
	ops     *operator.Store
	logger  *slog.Logger
	limiter *ratelimit.Limiter // nil: no rate limit
}

// SetLimiter makes every operator token draw from its own token bucket of
// l, with l's default rate and burst; a token out of tokens is answered
// 429 (with Retry-After) before anything is read or changed. The buckets
// of operator tokens are keyed by negative numbers derived from the
// token's SHA-256, so that they never share one with an API credential
// (whose ids are positive) in the same Limiter.
func (a *Auth) SetLimiter(l *ratelimit.Limiter) { a.limiter = l }

// bucketOf returns the token bucket key of an operator token.
func bucketOf(tok string) int64 {
	sum := sha256.Sum256([]byte(tok))
	return -int64(binary.BigEndian.Uint64(sum[:8])>>1) - 1
}

// errRateLimited answers a token over its rate.
var errRateLimited = apiError{http.StatusTooManyRequests, string(fault.RateLimited), "too many requests for this token; slow down", ""}

// NewAuth returns the operator API's authentication on ops.
func NewAuth(ops *operator.Store, logger *slog.Logger) *Auth {
	return &Auth{ops: ops, logger: logger}
}

// Read lets through, to next, requests whose operator token is valid and
// whose role may read family f: no token or a bad one is 401, a role
// outside the family 403.
func (a *Auth) Read(f Family, next http.Handler) http.Handler { return a.check(f, false, next) }

// Write is Read for endpoints that change something in family f.
func (a *Auth) Write(f Family, next http.Handler) http.Handler { return a.check(f, true, next) }

func (a *Auth) check(f Family, write bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, tok, _ := strings.Cut(h, " ")
		if h == "" || !strings.EqualFold(scheme, "Bearer") {
			writeError(w, errNoToken)
			return
		}
		op, err := a.ops.Authenticate(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			if fault.CodeOf(err) == fault.Unauthorized {
				writeError(w, errBadToken)
				return
			}
			writeFault(w, r, a.logger, err)
			return
		}
		if a.limiter != nil && !a.limiter.Allow(bucketOf(strings.TrimSpace(tok)), 0, 0) {
			writeError(w, errRateLimited)
			return
		}
		if !Allowed(op.Role, f, write) {
			writeError(w, errForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, op)))
	})
}
