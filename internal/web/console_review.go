package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"kios/internal/face/admin"
	"kios/internal/fault"
	"kios/internal/funding"
)

// reviewView is /admin/review: deposits and withdrawals, those waiting for
// a person first of all, with accept and reject for one or a selection.
type reviewView struct {
	page
	Action    string // the page's own URL, where its forms post
	Filter    reviewFilterView
	Types     []option
	Statuses  []option
	Rows      []reviewRow
	Pager     pager
	SumPage   int64
	SumAll    int64
	CanDecide bool
	Max       int
	Comment   string
}

type reviewFilterView struct{ Type, Status, Member string }

type reviewRow struct {
	Reference, Member, Type, TypeLabel, Status, StatusLabel string
	Via, AccountNumber, AccountName, Created                string
	Amount, UniqueCode, Price                               int64
	Waiting, Checked                                        bool
}

var reviewTemplate = parse("admin_review.html", "pager.html")

// reviewStatuses are the choices of the queue's status filter; "waiting"
// is what waits for a person (unpaid deposits, processing withdrawals).
var reviewStatuses = []string{funding.StatusWaiting, "all", funding.Unpaid, funding.Processing, funding.Success,
	funding.Failed, funding.Expired}

// Review serves GET /admin/review?type=&status=&member=&page=.
func (c *Console) Review() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.review(w, r, consolePage(r, "review", "review.title"), http.StatusOK, nil)
	})
}

// review renders the queue that r's query selects, with status; checked
// are the references to show selected again.
func (c *Console) review(w http.ResponseWriter, r *http.Request, p page, status int, checked []string) {
	q := r.URL.Query()
	v := reviewView{page: p, CanDecide: can(r, admin.FamilyTransactions), Max: admin.MaxBulk,
		Filter: reviewFilterView{Type: q.Get("type"), Status: q.Get("status"), Member: q.Get("member")}}
	v.Action = r.URL.Path
	if r.URL.RawQuery != "" {
		v.Action += "?" + r.URL.RawQuery
	}
	if r.Method == http.MethodPost {
		v.CleanURL = v.Action
		v.Comment = r.PostFormValue("comment")
	}
	for _, t := range []string{funding.TypeDeposit, funding.TypeWithdraw} {
		v.Types = append(v.Types, option{t, p.T("type." + t)})
	}
	for _, s := range reviewStatuses {
		v.Statuses = append(v.Statuses, option{s, p.T("status." + s)})
	}
	f := funding.ReviewFilter{Type: v.Filter.Type, Status: v.Filter.Status, Member: v.Filter.Member}
	switch f.Status {
	case "":
		f.Status = funding.StatusWaiting
	case "all":
		f.Status = ""
	}
	n := pageNumber(r)
	res, err := c.d.Funds.Review(r.Context(), f, perPage, (n-1)*perPage)
	if err != nil {
		st, msg := p.problem(err)
		if st == http.StatusInternalServerError {
			c.serverError(w, r, p, err)
			return
		}
		v.Problem, status = msg, st
	}
	for _, it := range res.Items {
		row := reviewRow{Reference: it.Reference, Member: it.Username, Type: it.Type, TypeLabel: p.T("type." + it.Type),
			Status: it.Status, StatusLabel: p.T("status." + it.Status), Via: it.Via, AccountNumber: it.AccountNumber,
			AccountName: it.AccountName, Created: wib(it.CreatedAt), Amount: it.Amount, UniqueCode: it.UniqueCode,
			Price: it.Price, Checked: slices.Contains(checked, it.Reference)}
		row.Waiting = (it.Type == funding.TypeDeposit && it.Status == funding.Unpaid) ||
			(it.Type == funding.TypeWithdraw && it.Status == funding.Processing)
		v.Rows = append(v.Rows, row)
		v.SumPage += it.Price
	}
	v.SumAll, v.Pager = res.Sum, newPager(r, n, res.Total)
	render(w, r, c.d.Logger, reviewTemplate, status, v)
}

// Decide serves POST /admin/review: the decision (field do) on one
// transaction ("accept:REF" or "reject:REF", a row's own button) or on the
// selection (do "accept" or "reject" with the checked ref fields), with
// the form's comment. A selection of more than admin.MaxBulk is refused
// before anything is done. Each decision is taken on its own, through the
// operator API's audited call; one failing does not stop the others.
func (c *Console) Decide() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := consolePage(r, "review", "review.title")
		do := r.PostFormValue("do")
		action, one, single := strings.Cut(do, ":")
		refs := r.PostForm["ref"]
		if single {
			refs = []string{one}
		}
		var uniq []string
		for _, ref := range refs {
			if ref = strings.TrimSpace(ref); ref != "" && !slices.Contains(uniq, ref) {
				uniq = append(uniq, ref)
			}
		}
		switch {
		case action != funding.Accept && action != funding.Reject:
			p.Problem = p.T("review.bad_action")
			c.review(w, r, p, http.StatusBadRequest, uniq)
			return
		case len(uniq) == 0:
			p.Problem = p.T("review.none")
			c.review(w, r, p, http.StatusBadRequest, nil)
			return
		case len(uniq) > admin.MaxBulk:
			p.Problem = fmt.Sprintf(p.T("review.too_many"), len(uniq), admin.MaxBulk)
			c.review(w, r, p, http.StatusUnprocessableEntity, uniq)
			return
		}
		op, comment := operatorOf(r), r.PostFormValue("comment")
		var done int
		var failed []string
		status := http.StatusOK
		for _, ref := range uniq {
			_, err := admin.Decide(r.Context(), c.d.Funds, c.d.Now, op, ref, action, comment)
			if err == nil {
				done++
				continue
			}
			st, msg := p.problem(err)
			if st == http.StatusInternalServerError {
				c.d.Logger.ErrorContext(r.Context(), "web: decision", "reference", ref, "err", err)
			}
			if fault.CodeOf(err) == fault.Conflict {
				msg = p.T("review.not_waiting")
			}
			if len(failed) == 0 {
				status = st
			}
			failed = append(failed, ref+": "+msg)
		}
		if done > 0 {
			p.Notice = fmt.Sprintf(p.T("review.done."+action), done)
			status = http.StatusOK
		}
		var again []string
		if len(failed) > 0 {
			p.Problem = strings.Join(failed, "; ")
			if done == 0 {
				again = uniq // nothing was done: keep the selection for another try
			}
		}
		c.review(w, r, p, status, again)
	})
}
