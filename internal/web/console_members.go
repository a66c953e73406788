package web

import (
	"net/http"
	"net/url"
	"strings"

	"kios/internal/face/admin"
	"kios/internal/member"
)

// membersView is /admin/members: the member search.
type membersView struct {
	page
	Query   string
	Rows    []memberRow
	Pager   pager
	SumPage int64
	SumAll  int64
}

type memberRow struct {
	Username, Level, Upline, Created string
	Active                           bool
	Balance                          int64
}

func toMemberRow(l member.Listed) memberRow {
	return memberRow{Username: l.Username, Level: l.Level, Upline: l.Upline, Created: wib(l.CreatedAt),
		Active: l.Active, Balance: l.Balance}
}

var membersTemplate = parse("admin_members.html", "pager.html")

// Members serves GET /admin/members?q=&page=: members whose username
// contains q, with their balances.
func (c *Console) Members() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := consolePage(r, "members", "members.title")
		q := strings.TrimSpace(r.URL.Query().Get("q"))
		n := pageNumber(r)
		items, total, balances, err := c.d.Members.List(r.Context(), q, perPage, (n-1)*perPage)
		if err != nil {
			c.serverError(w, r, p, err)
			return
		}
		v := membersView{page: p, Query: q, SumAll: balances, Pager: newPager(r, n, total)}
		for _, it := range items {
			v.Rows = append(v.Rows, toMemberRow(it))
			v.SumPage += it.Balance
		}
		render(w, r, c.d.Logger, membersTemplate, http.StatusOK, v)
	})
}

// memberView is /admin/members/{username}: profile, balance, credentials,
// history, downlines and the adjustment form.
type memberView struct {
	page
	Member      memberRow
	Credentials []credentialRow
	Types       []option
	Type        string
	History     []movementRow
	Pager       pager
	HistorySum  int64
	Downlines   []memberRow
	DownTotal   int64
	CanAdjust   bool
	Form        map[string]string
}

type credentialRow struct {
	Hint, AllowIPs, Created string
	SignedOnly, Revoked     bool
}

type movementRow struct {
	At, Type, TypeLabel, Kind, Reference, Memo string
	Amount                                     int64
}

var memberTemplate = parse("admin_member.html", "pager.html")

// Member serves GET /admin/members/{username}?type=&page=.
func (c *Console) Member() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.member(w, r, consolePage(r, "members", "members.title"), http.StatusOK, nil)
	})
}

// member renders a member's page with status; form refills a failed
// adjustment.
func (c *Console) member(w http.ResponseWriter, r *http.Request, p page, status int, form map[string]string) {
	ctx := r.Context()
	username := r.PathValue("username")
	l, err := c.d.Members.Profile(ctx, username)
	if err != nil {
		st, _ := p.problem(err)
		if st == http.StatusNotFound {
			showMessage(w, r, c.d.Logger, p, http.StatusNotFound, "notfound.title", "members.notfound")
			return
		}
		c.serverError(w, r, p, err)
		return
	}
	p.Title = l.Username
	p.Path = "/admin/members/" + url.PathEscape(l.Username)
	if r.Method == http.MethodPost {
		p.CleanURL = p.Path
	}
	v := memberView{page: p, Member: toMemberRow(l), CanAdjust: can(r, admin.FamilyAdjustments), Form: form}
	creds, err := c.d.Members.Credentials(ctx, l.ID)
	if err != nil {
		c.serverError(w, r, p, err)
		return
	}
	for _, cr := range creds {
		ips := make([]string, 0, len(cr.AllowIPs))
		for _, ip := range cr.AllowIPs {
			ips = append(ips, ip.String())
		}
		v.Credentials = append(v.Credentials, credentialRow{Hint: cr.KeyHint, AllowIPs: strings.Join(ips, ", "),
			Created: wib(cr.CreatedAt), SignedOnly: cr.SignedOnly, Revoked: cr.Revoked})
	}
	for _, t := range []string{member.MovementDeposit, member.MovementWithdraw, member.MovementOrder, member.MovementAdjustment} {
		v.Types = append(v.Types, option{t, p.T("movement." + t)})
	}
	if r.Method == http.MethodGet {
		v.Type = r.URL.Query().Get("type")
	}
	n := pageNumber(r)
	ms, total, sum, err := c.d.Members.History(ctx, l.ID, member.HistoryFilter{Type: v.Type}, perPage, (n-1)*perPage)
	if err != nil {
		st, msg := p.problem(err)
		if st == http.StatusInternalServerError {
			c.serverError(w, r, p, err)
			return
		}
		v.Problem, status, v.Type = msg, st, ""
	}
	for _, m := range ms {
		v.History = append(v.History, movementRow{At: wib(m.At), Type: m.Type, TypeLabel: p.T("movement." + m.Type),
			Kind: m.Kind, Reference: m.Reference, Memo: m.Memo, Amount: m.Amount})
	}
	v.HistorySum, v.Pager = sum, newPager(r, n, total)
	downs, dtotal, err := c.d.Members.Downlines(ctx, l.ID, perPage, 0)
	if err != nil {
		c.serverError(w, r, p, err)
		return
	}
	for _, d := range downs {
		v.Downlines = append(v.Downlines, toMemberRow(d))
	}
	v.DownTotal = dtotal
	render(w, r, c.d.Logger, memberTemplate, status, v)
}

// Adjust serves POST /admin/members/{username}/adjust (direction credit or
// debit, amount, comment): a manual balance change through the operator
// API's audited call. A debit larger than the balance moves nothing.
func (c *Console) Adjust() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := consolePage(r, "members", "members.title")
		form := formValues(r, "direction", "amount", "comment")
		m, err := c.d.Members.ByUsername(r.Context(), r.PathValue("username"))
		if err != nil {
			c.member(w, r, p, http.StatusOK, nil) // shows not found, or the server's error
			return
		}
		amount, err := parseAmount(form["amount"])
		if err == nil {
			_, err = admin.AdjustBalance(r.Context(), c.d.Members, c.d.Now, operatorOf(r), m, form["direction"], amount, form["comment"])
		}
		if err != nil {
			st, msg := p.problem(err)
			if st == http.StatusInternalServerError {
				c.serverError(w, r, p, err)
				return
			}
			p.Problem = msg
			c.member(w, r, p, st, form)
			return
		}
		http.Redirect(w, r, "/admin/members/"+url.PathEscape(m.Username)+"?done=adjusted", http.StatusSeeOther)
	})
}
