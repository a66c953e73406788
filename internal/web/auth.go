package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"kios/internal/fault"
	"kios/internal/httpx"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/ratelimit"
	"kios/internal/session"
	"kios/internal/token"
)

// Sign-in attempt limits: an account may fail AccountBurst times in a row,
// then once per AccountEvery; an IP address IPBurst times, then once per
// IPEvery. Only failures count.
const (
	AccountBurst = 5
	AccountEvery = time.Minute
	IPBurst      = 30
	IPEvery      = 10 * time.Second
)

// preCookie carries the random value the sign-in forms' CSRF token is made
// from, before there is a session.
const preCookie = "kios_csrf"

// csrfField is the name of the CSRF token in every form.
const csrfField = "csrf"

// area is one signed-in part of the site: the member dashboard or the
// operator console. Each has its own session kind and cookie, so that
// signing in to one never opens the other.
type area struct {
	kind   session.Kind
	name   string // "member" or "admin"
	cookie string
	path   string
}

var (
	memberArea = area{session.Member, "member", "kios_member", "/member"}
	adminArea  = area{session.Operator, "admin", "kios_admin", "/admin"}
)

// AuthDeps are what Auth needs.
type AuthDeps struct {
	Sessions  *session.Store
	Members   *member.Store
	Operators *operator.Store
	// Trusted are the proxies whose X-Forwarded-For is believed.
	Trusted []netip.Prefix
	// Secure marks cookies Secure even on a plain connection: set it when
	// kios's public URL is https behind a proxy that ends TLS.
	Secure bool
	Now    func() time.Time
	Logger *slog.Logger
}

// Auth signs members and operators in and out and guards their pages.
type Auth struct {
	d        AuthDeps
	accounts *ratelimit.Attempts
	ips      *ratelimit.Attempts
}

// NewAuth returns an Auth.
func NewAuth(d AuthDeps) *Auth {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Auth{d: d,
		accounts: ratelimit.NewAttempts(AccountBurst, AccountEvery, d.Now),
		ips:      ratelimit.NewAttempts(IPBurst, IPEvery, d.Now)}
}

// csrfToken derives the CSRF token of the forms from a cookie's value (the
// session token, or before sign-in the pre-sign-in cookie): a page from
// kios can show it, another site cannot know it.
func csrfToken(cookie string) string { return token.Hash("kios csrf\x00" + cookie) }

// checkCSRF reports whether r's form carries the token of cookie. It reads
// at most httpx.MaxBody of form.
func checkCSRF(w http.ResponseWriter, r *http.Request, cookie string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, httpx.MaxBody)
	got := r.PostFormValue(csrfField)
	return cookie != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(cookie))) == 1
}

func (a *Auth) secure(r *http.Request) bool { return a.d.Secure || r.TLS != nil }

func (a *Auth) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.secure(r)})
}

// signedIn is what a guarded handler learns about its caller.
type signedIn struct {
	page     page
	member   member.Member
	operator operator.Operator
}

type ctxKey int

const signedInKey ctxKey = 1

func signedInFrom(ctx context.Context) signedIn {
	s, _ := ctx.Value(signedInKey).(signedIn)
	return s
}

// Member guards the member dashboard: without a live member session a
// request is sent to the sign-in page; a POST without the session's CSRF
// token is refused with 403 before anything is done.
func (a *Auth) Member(next http.Handler) http.Handler {
	return a.guard(memberArea, func(ctx context.Context, id int64, s *signedIn) error {
		m, err := a.d.Members.ByID(ctx, id)
		if err == nil && !m.Active {
			err = fault.New(fault.Inactive, "the member is switched off")
		}
		s.member, s.page.User = m, m.Username
		return err
	}, next)
}

// Operator guards the operator console as Member guards the dashboard.
func (a *Auth) Operator(next http.Handler) http.Handler {
	return a.guard(adminArea, func(ctx context.Context, id int64, s *signedIn) error {
		op, err := a.d.Operators.ByID(ctx, id)
		if err == nil && !op.Active {
			err = fault.New(fault.Inactive, "the operator is switched off")
		}
		s.operator, s.page.User = op, op.Username
		return err
	}, next)
}

func (a *Auth) guard(ar area, load func(ctx context.Context, id int64, s *signedIn) error, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		s := signedIn{page: newPage(w, r, a.d.Now())}
		s.page.Area = ar.name
		var ses session.Session
		c, err := r.Cookie(ar.cookie)
		if err != nil {
			c, err = nil, session.ErrNoSession
		} else {
			ses, err = a.d.Sessions.Lookup(ctx, ar.kind, c.Value)
		}
		if err == nil {
			err = load(ctx, ses.SubjectID, &s)
		}
		switch fault.CodeOf(err) {
		case "":
		case fault.Internal:
			a.d.Logger.ErrorContext(ctx, "web: session", "err", err)
			showMessage(w, r, a.d.Logger, s.page, http.StatusInternalServerError, "error.title", "error.body")
			return
		default: // no cookie, no session, expired, account gone or off
			if c != nil {
				a.setCookie(w, r, ar.cookie, "", ar.path, -1)
			}
			target := ar.path + "/login"
			if c != nil {
				target += "?expired=1"
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		s.page.CSRF = csrfToken(c.Value)
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !checkCSRF(w, r, c.Value) {
			showMessage(w, r, a.d.Logger, s.page, http.StatusForbidden, "csrf.title", "csrf.body")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, signedInKey, s)))
	})
}

// loginView is the sign-in page.
type loginView struct {
	page
	Heading  string
	Action   string
	Username string
	Other    string // the other area's sign-in page
	OtherKey string
}

var loginTemplate = parse("login.html")

// MemberLogin serves /member/login: the form (GET) and the sign-in (POST).
func (a *Auth) MemberLogin() http.Handler {
	return a.login(memberArea, "login.member.title", "/admin/login", "login.other.operator",
		func(ctx context.Context, user, pw string) (int64, error) {
			m, err := a.d.Members.CheckPassword(ctx, user, pw)
			return m.ID, err
		})
}

// OperatorLogin serves /admin/login.
func (a *Auth) OperatorLogin() http.Handler {
	return a.login(adminArea, "login.operator.title", "/member/login", "login.other.member",
		func(ctx context.Context, user, pw string) (int64, error) {
			op, err := a.d.Operators.CheckPassword(ctx, user, pw)
			return op.ID, err
		})
}

func (a *Auth) login(ar area, heading, other, otherKey string, check func(ctx context.Context, user, pw string) (int64, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := newPage(w, r, a.d.Now())
		v := loginView{page: p, Action: ar.path + "/login", Other: other, OtherKey: otherKey}
		v.Title, v.Heading = p.T(heading), p.T(heading)
		pre := ""
		if c, err := r.Cookie(preCookie); err == nil && len(c.Value) == 32 {
			pre = c.Value
		}
		show := func(status int, problem string) {
			if pre == "" {
				pre = token.New(32)
				a.setCookie(w, r, preCookie, pre, "/", 0)
			}
			v.CSRF = csrfToken(pre)
			if problem != "" {
				v.Problem = p.T(problem)
			}
			render(w, r, a.d.Logger, loginTemplate, status, v)
		}
		if r.Method != http.MethodPost {
			if c, err := r.Cookie(ar.cookie); err == nil {
				if _, err := a.d.Sessions.Lookup(ctx, ar.kind, c.Value); err == nil {
					http.Redirect(w, r, ar.path, http.StatusSeeOther)
					return
				}
			}
			problem := ""
			if r.URL.Query().Get("expired") != "" {
				problem = "login.expired"
			}
			show(http.StatusOK, problem)
			return
		}

		if !checkCSRF(w, r, pre) {
			p.CSRF = csrfToken(pre)
			showMessage(w, r, a.d.Logger, p, http.StatusForbidden, "csrf.title", "csrf.body")
			return
		}
		user := strings.TrimSpace(r.PostFormValue("username"))
		pw := r.PostFormValue("password")
		v.Username = user
		ipKey := "ip:" + httpx.ClientIP(r, a.d.Trusted).String()
		accountKey := ar.name + ":" + strings.ToLower(user)
		if !a.ips.Allow(ipKey) || !a.accounts.Allow(accountKey) {
			show(http.StatusTooManyRequests, "login.limited")
			return
		}
		id, err := check(ctx, user, pw)
		switch fault.CodeOf(err) {
		case "":
		case fault.Unauthorized:
			a.ips.Fail(ipKey)
			a.accounts.Fail(accountKey)
			show(http.StatusUnauthorized, "login.bad")
			return
		case fault.Inactive:
			show(http.StatusForbidden, "login.inactive")
			return
		default:
			a.d.Logger.ErrorContext(ctx, "web: sign-in", "area", ar.name, "err", err)
			show(http.StatusInternalServerError, "error.body")
			return
		}
		// A new session on every sign-in; the browser's previous one ends.
		if c, err := r.Cookie(ar.cookie); err == nil {
			if err := a.d.Sessions.Delete(ctx, c.Value); err != nil {
				a.d.Logger.WarnContext(ctx, "web: end previous session", "err", err)
			}
		}
		tok, _, err := a.d.Sessions.Create(ctx, ar.kind, id)
		if err != nil {
			a.d.Logger.ErrorContext(ctx, "web: create session", "err", err)
			show(http.StatusInternalServerError, "error.body")
			return
		}
		a.setCookie(w, r, ar.cookie, tok, ar.path, int(a.d.Sessions.Lifetime().Seconds()))
		http.Redirect(w, r, ar.path, http.StatusSeeOther)
	})
}

// MemberLogout serves POST /member/logout; wrap it in Member.
func (a *Auth) MemberLogout() http.Handler { return a.logout(memberArea) }

// OperatorLogout serves POST /admin/logout; wrap it in Operator.
func (a *Auth) OperatorLogout() http.Handler { return a.logout(adminArea) }

func (a *Auth) logout(ar area) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(ar.cookie)
		if err == nil {
			if err := a.d.Sessions.Delete(r.Context(), c.Value); err != nil && !errors.Is(err, session.ErrNoSession) {
				a.d.Logger.ErrorContext(r.Context(), "web: sign out", "err", err)
				showMessage(w, r, a.d.Logger, signedInFrom(r.Context()).page, http.StatusInternalServerError, "error.title", "error.body")
				return
			}
		}
		a.setCookie(w, r, ar.cookie, "", ar.path, -1)
		http.Redirect(w, r, ar.path+"/login", http.StatusSeeOther)
	})
}
