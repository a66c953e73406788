package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kios/internal/fault"
	"kios/internal/reference"
)

// Pagination limits.
const (
	defaultPerPage = 50
	maxPerPage     = 1000
)

// page is the page a list request asks for.
type page struct {
	Number  int // from 1
	PerPage int
}

// Limit and Offset are the page as SQL wants it.
func (p page) Limit() int  { return p.PerPage }
func (p page) Offset() int { return (p.Number - 1) * p.PerPage }

// parsePage reads ?page=&per_page= (defaults 1 and 50; per_page at most
// 1000).
func parsePage(q url.Values) (page, error) {
	p := page{Number: 1, PerPage: defaultPerPage}
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			return page{}, fault.Field(fault.Invalid, "page", "must be a whole number from 1")
		}
		p.Number = n
	}
	if s := q.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPerPage {
			return page{}, fault.Field(fault.Invalid, "per_page", "must be a whole number from 1 to %d", maxPerPage)
		}
		p.PerPage = n
	}
	return p, nil
}

// listBody is the spec's paginated answer. The amount totals are present
// only on lists that carry amounts.
type listBody struct {
	Data            any    `json:"data"`
	Page            int    `json:"page"`
	PerPage         int    `json:"per_page"`
	TotalRows       int64  `json:"total_rows"`
	TotalPages      int64  `json:"total_pages"`
	TotalAmountPage *int64 `json:"total_amount_page,omitempty"`
	TotalAmountAll  *int64 `json:"total_amount_all,omitempty"`
}

// newList returns the answer for data (a slice, never nil) on page p of
// total rows.
func newList(data any, p page, total int64) listBody {
	pages := (total + int64(p.PerPage) - 1) / int64(p.PerPage)
	return listBody{Data: data, Page: p.Number, PerPage: p.PerPage, TotalRows: total, TotalPages: pages}
}

// withAmounts adds the amount totals: of the rows on this page, and of
// all rows the filter selects.
func (l listBody) withAmounts(pageSum, allSum int64) listBody {
	l.TotalAmountPage, l.TotalAmountAll = &pageSum, &allSum
	return l
}

// dayRange reads ?from=YYYY-MM-DD&to=YYYY-MM-DD as days in WIB (the
// platform's business day) and returns [start of from, end of to); a
// missing bound is the zero time.
func dayRange(q url.Values) (from, to time.Time, err error) {
	if s := q.Get("from"); s != "" {
		d, err := time.ParseInLocation(time.DateOnly, s, reference.WIB)
		if err != nil {
			return from, to, fault.Field(fault.Invalid, "from", "must be a date YYYY-MM-DD")
		}
		from = d.UTC()
	}
	if s := q.Get("to"); s != "" {
		d, err := time.ParseInLocation(time.DateOnly, s, reference.WIB)
		if err != nil {
			return from, to, fault.Field(fault.Invalid, "to", "must be a date YYYY-MM-DD")
		}
		to = d.AddDate(0, 0, 1).UTC()
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, fault.Field(fault.Invalid, "to", "must not be before from")
	}
	return from, to, nil
}

// oneOf returns the query parameter name, lower-cased, when it is one of
// allowed ("" is allowed when absent); otherwise a fault about it.
func oneOf(q url.Values, name string, allowed ...string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(q.Get(name)))
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", fault.Field(fault.Invalid, name, "must be one of %s", strings.Join(allowed, ", "))
}

// wire renders a time as the operator API writes times: RFC 3339 in UTC
// with microseconds.
func wire(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// pathID reads a positive integer path value.
func pathID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, fault.Field(fault.Invalid, name, "must be a positive whole number")
	}
	return n, nil
}
