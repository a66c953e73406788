// Package apikey is the part of the API faces' authentication that they
// share: a member's API key, the member's access and the credential's rate
// limit, checked in that order. Each face finds the key in its own header
// and words the refusals in its own shape.
package apikey

import (
	"net/http"
	"net/netip"
	"strings"

	"kios/internal/fault"
	"kios/internal/httpx"
	"kios/internal/member"
	"kios/internal/ratelimit"
)

// Check authenticates key for the request r. An unknown or revoked key is
// fault.Unauthorized; a member switched off or without API access, or a
// caller outside the credential's allow-list, is fault.Forbidden; a
// credential over its rate limit is fault.RateLimited. Any other error is a
// server fault. trusted lists reverse proxies whose X-Forwarded-For is
// believed.
func Check(r *http.Request, members *member.Store, limiter *ratelimit.Limiter, trusted []netip.Prefix, key string) (member.Credential, member.Member, error) {
	cred, m, err := members.Authenticate(r.Context(), key)
	if err != nil {
		return cred, m, err
	}
	if !cred.Admits(m, httpx.ClientIP(r, trusted)) {
		return cred, m, fault.New(fault.Forbidden, "API access is not allowed for this member or address")
	}
	if !limiter.Allow(cred.ID, float64(cred.RatePerSec), cred.RateBurst) {
		return cred, m, fault.New(fault.RateLimited, "too many requests")
	}
	return cred, m, nil
}

// Bearer extracts the token of an "Authorization: Bearer <token>" header.
func Bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
