package ppob

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"kios/internal/face/apikey"
	"kios/internal/httpx"
	"kios/internal/member"
	"kios/internal/ratelimit"
)

// caller is the authenticated member behind a request and the body it sent.
type caller struct {
	member member.Member
	body   []byte
}

type callerKey struct{}

func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// Auth authenticates the face's callers by the X-API-Key header, with the
// same credentials, allow-list and rate limit as the prepaid face.
type Auth struct {
	members *member.Store
	limiter *ratelimit.Limiter
	trusted []netip.Prefix
	logger  *slog.Logger
}

// NewAuth returns the middleware factory. trusted lists reverse proxies
// whose X-Forwarded-For is believed.
func NewAuth(members *member.Store, limiter *ratelimit.Limiter, trusted []netip.Prefix, logger *slog.Logger) *Auth {
	return &Auth{members: members, limiter: limiter, trusted: trusted, logger: logger}
}

// Wrap checks, in order: the API key (unknown or revoked → 401), the
// member's access (switched off, API access off, or an address outside the
// credential's allow-list → 401), the credential's rate limit (429); only
// then is the body read and next called.
func (a *Auth) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimSpace(r.Header.Get("X-API-Key"))
		if key == "" {
			writeError(w, errInvalidKey)
			return
		}
		_, m, err := apikey.Check(r, a.members, a.limiter, a.trusted, key)
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
			writeError(w, errMalformed)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller{member: m, body: body})))
	})
}
