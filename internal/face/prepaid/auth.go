package prepaid

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"kios/internal/face/apikey"
	"kios/internal/httpx"
	"kios/internal/member"
	"kios/internal/ratelimit"
)

// Caller is the authenticated member behind a request, with the credential
// it used and the raw body it sent.
type Caller struct {
	Member     member.Member
	Credential member.Credential
	Body       []byte
}

type callerKey struct{}

// CallerFrom returns the caller stored by the authentication middleware.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Auth authenticates the prepaid face's callers. It is built once and wraps
// each route with Open (Bearer key only) or Signed (Bearer key and the
// Signature header).
type Auth struct {
	members *member.Store
	limiter *ratelimit.Limiter
	trusted []netip.Prefix
	now     func() time.Time
	logger  *slog.Logger
}

// NewAuth returns the middleware factory. trusted lists reverse proxies
// whose X-Forwarded-For is believed.
func NewAuth(members *member.Store, limiter *ratelimit.Limiter, trusted []netip.Prefix, now func() time.Time, logger *slog.Logger) *Auth {
	return &Auth{members: members, limiter: limiter, trusted: trusted, now: now, logger: logger}
}

// Open wraps a call that needs only the API key.
func (a *Auth) Open(next http.Handler) http.Handler { return a.wrap(next, false) }

// Signed wraps a call that moves money or reveals the balance: it also needs
// the Signature header, as the plain secret key or as t=…,v1=… HMAC.
func (a *Auth) Signed(next http.Handler) http.Handler { return a.wrap(next, true) }

// wrap checks, in order: the Bearer key (unknown or revoked → Invalid API
// Key), the member's access (inactive, API access off, or an IP outside the
// credential's allow-list → no access), the credential's rate limit (429),
// then the signature when signed is set. Only then is the body read and
// the handler called.
func (a *Auth) wrap(next http.Handler, signed bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := apikey.Bearer(r.Header.Get("Authorization"))
		if !ok {
			writeError(w, errInvalidKey)
			return
		}
		cred, m, err := apikey.Check(r, a.members, a.limiter, a.trusted, key)
		if err != nil {
			writeFault(w, r, a.logger, err)
			return
		}
		body, err := httpx.ReadBody(w, r)
		if err != nil {
			if errors.Is(err, httpx.ErrBodyTooLarge) {
				writeError(w, errBodyTooLarge)
				return
			}
			writeError(w, errMalformedJSON)
			return
		}
		if signed {
			if err := cred.CheckSignature(r.Header.Get("Signature"), body, a.now()); err != nil {
				writeError(w, errInvalidSignature)
				return
			}
		}
		ctx := context.WithValue(r.Context(), callerKey{}, Caller{Member: m, Credential: cred, Body: body})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
