package member

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/token"
)

// Lengths of what CreateCredential issues, in base62 characters: about 238
// bits for the key and 428 for the secret. The secret is longer than
// SHA-256's 64-byte block on purpose; see CheckSignature.
const (
	APIKeyLen    = 40
	SecretKeyLen = 72
	keyHintLen   = 6
	maxAllowIPs  = 100
)

// Credential is an API key of a member, without the key and the secret:
// kios keeps only their SHA-256, and the first characters of the key as a
// hint for people to tell their keys apart.
type Credential struct {
	ID         int64
	MemberID   int64
	KeyHint    string         // the first 6 characters of the API key
	AllowIPs   []netip.Prefix // callers allowed; empty = everyone
	SignedOnly bool           // refuse the compatible form of the Signature header
	RatePerSec int            // 0 = the server's default
	RateBurst  int            // 0 = the server's default
	CreatedAt  time.Time
	Revoked    bool

	secretHash string // lower-case hex SHA-256 of the secret key
}

// NewCredential is the input of CreateCredential.
type NewCredential struct {
	MemberID   int64
	AllowIPs   []string // IP addresses or CIDR ranges; empty = everyone
	SignedOnly bool
	RatePerSec int // 0 = the server's default
	RateBurst  int // 0 = the server's default
}

// Issued is a credential just created, with its API key and secret key in
// plain: the only time they exist. Show them once and drop them. Its String
// and LogValue leave them out, so printing or logging an Issued by mistake
// does not leak them.
type Issued struct {
	Credential
	APIKey    string
	SecretKey string
}

// String describes i without its key and secret.
func (i Issued) String() string {
	return fmt.Sprintf("credential %d of member %d (key %s…)", i.ID, i.MemberID, i.KeyHint)
}

// LogValue logs i without its key and secret.
func (i Issued) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", i.ID), slog.Int64("member_id", i.MemberID), slog.String("key_hint", i.KeyHint))
}

// Errors of credential checks. Both are of kind fault.Unauthorized; test
// for them with errors.Is. Their messages never contain a key, a secret or
// a hash.
var (
	// ErrInvalidKey is the answer to an API key that is unknown or revoked.
	ErrInvalidKey = &fault.Error{Code: fault.Unauthorized, Field: "api_key", Detail: "invalid API key"}
	// ErrBadSignature is the answer to a Signature header that is missing,
	// malformed, stale, wrong, or in a form the credential refuses.
	ErrBadSignature = &fault.Error{Code: fault.Unauthorized, Field: "signature", Detail: "invalid signature"}
)

var errNoCredential = fault.New(fault.NotFound, "no such credential")

// ParseAllowIPs turns IP addresses and CIDR ranges into the prefixes of an
// allow-list. An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is taken as
// the IPv4 address it carries, and a range's host bits are cleared.
// Surrounding spaces and empty entries are ignored, duplicates dropped. A
// bad entry is a fault.Invalid about "allow_ips".
func ParseAllowIPs(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		p, err := parseAllowIP(e)
		if err != nil {
			return nil, fault.Field(fault.Invalid, "allow_ips", "%q is not an IP address or CIDR range", e)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) > maxAllowIPs {
		return nil, fault.Field(fault.Invalid, "allow_ips", "at most %d entries", maxAllowIPs)
	}
	return out, nil
}

func parseAllowIP(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, errors.New("zone not allowed")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// formatAllowIPs is the stored form of an allow-list: prefixes joined by
// commas.
func formatAllowIPs(ps []netip.Prefix) string {
	ss := make([]string, len(ps))
	for i, p := range ps {
		ss[i] = p.String()
	}
	return strings.Join(ss, ",")
}

// decodeAllowIPs reads the stored form of an allow-list.
func decodeAllowIPs(s string) ([]netip.Prefix, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]netip.Prefix, len(parts))
	for i, p := range parts {
		var err error
		if out[i], err = netip.ParsePrefix(p); err != nil {
			return nil, fmt.Errorf("member: stored allow-list: %w", err)
		}
	}
	return out, nil
}

// Admits reports whether a caller at ip may use the API with c, the
// credential of member m: m must be switched on with API access, and ip
// in c's allow-list. Every face asks this one question after the key.
func (c Credential) Admits(m Member, ip netip.Addr) bool {
	return m.Active && m.APIAccess && c.AllowsIP(ip)
}

// AllowsIP reports whether a caller at ip may use c: always when the
// allow-list is empty, otherwise when a range in it contains ip. An
// IPv4-mapped IPv6 address counts as the IPv4 address it carries.
func (c Credential) AllowsIP(ip netip.Addr) bool {
	if len(c.AllowIPs) == 0 {
		return true
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range c.AllowIPs {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func validateRate(perSec, burst int) error {
	if perSec < 0 {
		return fault.Field(fault.Invalid, "rate_per_sec", "must not be negative")
	}
	if burst < 0 {
		return fault.Field(fault.Invalid, "rate_burst", "must not be negative")
	}
	return nil
}

// CreateCredential issues a new API key and secret key for a member. The
// answer is the only place they ever appear in plain; the database keeps
// their SHA-256.
func (s *Store) CreateCredential(ctx context.Context, nc NewCredential) (Issued, error) {
	return s.CreateCredentialWith(ctx, nc, nil)
}

// CreateCredentialWith is CreateCredential, running also (when not nil)
// with the new credential, without its key and secret, inside the
// transaction that creates it; an error of also undoes the creation.
func (s *Store) CreateCredentialWith(ctx context.Context, nc NewCredential, also func(tx *db.Tx, c Credential) error) (Issued, error) {
	allow, err := ParseAllowIPs(nc.AllowIPs)
	if err != nil {
		return Issued{}, err
	}
	if err := validateRate(nc.RatePerSec, nc.RateBurst); err != nil {
		return Issued{}, err
	}
	key, secret := token.New(APIKeyLen), token.New(SecretKeyLen)
	is := Issued{
		Credential: Credential{
			MemberID:   nc.MemberID,
			KeyHint:    key[:keyHintLen],
			AllowIPs:   allow,
			SignedOnly: nc.SignedOnly,
			RatePerSec: nc.RatePerSec,
			RateBurst:  nc.RateBurst,
			CreatedAt:  s.clock(),
			secretHash: token.Hash(secret),
		},
		APIKey:    key,
		SecretKey: secret,
	}
	keyHash := token.Hash(key)
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM members WHERE id = ?", nc.MemberID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fault.Field(fault.NotFound, "member_id", "no such member")
		}
		if err := tx.QueryRow(`INSERT INTO credentials
			(member_id, key_hash, key_hint, secret_hash, allow_ips, signed_only, rate_per_sec, rate_burst, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			nc.MemberID, keyHash, is.KeyHint, is.secretHash, formatAllowIPs(allow), nc.SignedOnly,
			nc.RatePerSec, nc.RateBurst, is.CreatedAt.UnixMicro()).Scan(&is.ID); err != nil || also == nil {
			return err
		}
		return also(tx, is.Credential)
	})
	if err != nil {
		return Issued{}, err
	}
	return is, nil
}

// credentialCols are the columns scanCredential reads, in its order; the
// alias c is the credentials table.
const credentialCols = "c.id, c.member_id, c.key_hint, c.secret_hash, c.allow_ips, c.signed_only, " +
	"c.rate_per_sec, c.rate_burst, c.created_at, c.revoked_at"

// scanCredential reads credentialCols, then extra, from row.
func scanCredential(row scanner, extra ...any) (Credential, error) {
	var (
		c       Credential
		allow   string
		created int64
		revoked sql.NullInt64
	)
	dest := append([]any{&c.ID, &c.MemberID, &c.KeyHint, &c.secretHash, &allow, &c.SignedOnly,
		&c.RatePerSec, &c.RateBurst, &created, &revoked}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Credential{}, err
	}
	var err error
	if c.AllowIPs, err = decodeAllowIPs(allow); err != nil {
		return Credential{}, err
	}
	c.CreatedAt = time.UnixMicro(created).UTC()
	c.Revoked = revoked.Valid
	return c, nil
}

// Credentials returns a member's credentials, revoked ones included, oldest
// first.
func (s *Store) Credentials(ctx context.Context, memberID int64) ([]Credential, error) {
	rows, err := s.db.Query(ctx, "SELECT "+credentialCols+" FROM credentials c WHERE c.member_id = ? ORDER BY c.id", memberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// authQuery finds a live credential by the hash of its key, with its
// member, in one indexed read (credentials.key_hash is unique).
const authQuery = "SELECT " + credentialCols + ", " +
	"m.id, m.username, m.level, m.upline_id, m.active, m.api_access, m.account_id, m.created_at " +
	"FROM credentials c JOIN members m ON m.id = c.member_id " +
	"WHERE c.key_hash = ? AND c.revoked_at IS NULL"

// Authenticate finds the credential whose API key is apiKey, and its
// member. An unknown or revoked key is ErrInvalidKey. A member that is
// switched off or has no API access is not an error here: the caller checks
// Member.Active and Member.APIAccess and answers in its own words.
//
// It runs on every API request: one indexed read, no write, and its
// answers are kept for AuthCacheTTL (see there for what that means for a
// change made elsewhere).
func (s *Store) Authenticate(ctx context.Context, apiKey string) (Credential, Member, error) {
	if apiKey == "" || len(apiKey) > 256 {
		return Credential{}, Member{}, ErrInvalidKey
	}
	h := token.Hash(apiKey)
	now := s.now()
	if e, ok := s.auth.Load(h); ok && now.Before(e.(authEntry).until) {
		e := e.(authEntry)
		return e.cred, e.m, nil
	}
	var (
		m       Member
		upline  sql.NullInt64
		created int64
	)
	c, err := scanCredential(s.db.QueryRow(ctx, authQuery, h),
		&m.ID, &m.Username, &m.Level, &upline, &m.Active, &m.APIAccess, &m.AccountID, &created)
	if errors.Is(err, db.ErrNotFound) {
		return Credential{}, Member{}, ErrInvalidKey
	}
	if err != nil {
		return Credential{}, Member{}, err
	}
	m.UplineID = upline.Int64
	m.CreatedAt = time.UnixMicro(created).UTC()
	s.auth.Store(h, authEntry{cred: c, m: m, until: now.Add(AuthCacheTTL)})
	return c, m, nil
}

// RevokeCredential revokes a member's credential: its key stops working at
// once. Revoking a revoked credential again does nothing and succeeds; a
// credential that does not exist, or is another member's, is
// fault.NotFound.
func (s *Store) RevokeCredential(ctx context.Context, memberID, credentialID int64) error {
	now := s.clock()
	defer s.forgetAuth()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		n, err := tx.ExecAffected(`UPDATE credentials SET revoked_at = ?
			WHERE id = ? AND member_id = ? AND revoked_at IS NULL`, now.UnixMicro(), credentialID, memberID)
		if err != nil || n > 0 {
			return err
		}
		_, err = credentialRevoked(tx, memberID, credentialID)
		return err
	})
}

// credentialRevoked reports whether a member's credential is revoked;
// fault.NotFound when the member has no such credential.
func credentialRevoked(tx *db.Tx, memberID, credentialID int64) (bool, error) {
	var revoked sql.NullInt64
	err := tx.QueryRow("SELECT revoked_at FROM credentials WHERE id = ? AND member_id = ?", credentialID, memberID).
		Scan(&revoked)
	if errors.Is(err, db.ErrNotFound) {
		return false, errNoCredential
	}
	return revoked.Valid, err
}

// SetAllowIPs replaces the allow-list of a member's credential; an empty
// list allows every caller. See ParseAllowIPs for the entries.
func (s *Store) SetAllowIPs(ctx context.Context, memberID, credentialID int64, ips []string) error {
	allow, err := ParseAllowIPs(ips)
	if err != nil {
		return err
	}
	return s.updateCredential(ctx, memberID, credentialID, "allow_ips = ?", formatAllowIPs(allow))
}

// SetSignedOnly makes a member's credential accept only the signed form of
// the Signature header (on), or both forms (off).
func (s *Store) SetSignedOnly(ctx context.Context, memberID, credentialID int64, on bool) error {
	return s.updateCredential(ctx, memberID, credentialID, "signed_only = ?", on)
}

// SetRate sets the rate limit of a member's credential, in requests per
// second and burst; 0 means the server's default.
func (s *Store) SetRate(ctx context.Context, memberID, credentialID int64, perSec, burst int) error {
	if err := validateRate(perSec, burst); err != nil {
		return err
	}
	return s.updateCredential(ctx, memberID, credentialID, "rate_per_sec = ?, rate_burst = ?", perSec, burst)
}

// updateCredential changes a live credential of a member. A revoked one is
// a fault.Conflict: it is kept as it was when revoked.
func (s *Store) updateCredential(ctx context.Context, memberID, credentialID int64, set string, args ...any) error {
	args = append(args, credentialID, memberID)
	defer s.forgetAuth()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		n, err := tx.ExecAffected("UPDATE credentials SET "+set+
			" WHERE id = ? AND member_id = ? AND revoked_at IS NULL", args...)
		if err != nil || n > 0 {
			return err
		}
		revoked, err := credentialRevoked(tx, memberID, credentialID)
		if err != nil {
			return err
		}
		if revoked {
			return fault.New(fault.Conflict, "the credential is revoked")
		}
		return errNoCredential // not reached: the update would have matched
	})
}
