package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"kios/internal/face/admin"
	"kios/internal/funding"
	"kios/internal/order"
	"kios/internal/reference"
	"kios/internal/webhook"
)

// chartDays is how many days the dashboard's day charts cover, today
// included.
const chartDays = 14

// Colours of the charts, by order status; they match the page's.
var statusFill = map[string]string{
	order.Success:    "#067647",
	order.Processing: "#b54708",
	order.Failed:     "#b42318",
	order.Refund:     "#98a2b3",
}

// homeView is /admin: who is signed in and the dashboard's charts.
type homeView struct {
	page
	Role   string
	Charts []chart
}

var homeTemplate = parse("admin.html", "chart.html")

// Home serves GET /admin: orders and revenue per day, the success rate per
// supplier, and the depths of the queues the operator's role may read.
func (c *Console) Home() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := consolePage(r, "home", "admin.title")
		v := homeView{page: p, Role: string(operatorOf(r).Role)}
		charts, err := c.charts(r, p)
		if err != nil {
			c.serverError(w, r, p, err)
			return
		}
		v.Charts = charts
		render(w, r, c.d.Logger, homeTemplate, http.StatusOK, v)
	})
}

func (c *Console) charts(r *http.Request, p page) ([]chart, error) {
	ctx := r.Context()
	today := c.d.Now().In(reference.WIB)
	end := time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, reference.WIB)
	start := end.AddDate(0, 0, -chartDays)
	days, sups, err := c.d.Orders.Stats(ctx, start.UTC(), end.UTC())
	if err != nil {
		return nil, err
	}
	labels := make([]string, chartDays)
	index := map[string]int{}
	for i := range chartDays {
		d := start.AddDate(0, 0, i)
		labels[i] = d.Format("02/01")
		index[d.Format(time.DateOnly)] = i
	}
	statuses := []string{order.Success, order.Processing, order.Failed, order.Refund}
	perStatus := map[string][]int64{}
	for _, s := range statuses {
		perStatus[s] = make([]int64, chartDays)
	}
	revenue := make([]int64, chartDays)
	for _, d := range days {
		i, ok := index[d.Day]
		if !ok || perStatus[d.Status] == nil {
			continue
		}
		perStatus[d.Status][i] += d.Count
		if d.Status == order.Success {
			revenue[i] += d.Sum
		}
	}
	var ss []series
	for _, s := range statuses {
		ss = append(ss, series{Label: p.T("status." + s), Fill: statusFill[s], Values: perStatus[s]})
	}
	out := []chart{
		columns("chart-orders", p.T("chart.orders"), labels, ss, count),
		columns("chart-revenue", p.T("chart.revenue"), labels,
			[]series{{Label: p.T("status.success"), Fill: "#0b6bcb", Values: revenue}}, money),
	}
	var rows []barRow
	for _, s := range sups {
		pct := s.Rate() * 100
		rows = append(rows, barRow{Label: s.Supplier, Value: int64(pct*10 + 0.5),
			Text: fmt.Sprintf("%.1f%% (%d/%d)", pct, s.Success, s.Settled), Fill: "#067647"})
	}
	out = append(out, bars("chart-suppliers", p.T("chart.suppliers"), rows, 1000))
	queues, err := c.queues(ctx, r, p)
	if err != nil {
		return nil, err
	}
	if len(queues) > 0 {
		out = append(out, bars("chart-queues", p.T("chart.queues"), queues, 0))
	}
	return out, nil
}

// queues counts what waits, in the queues the operator's role may read.
func (c *Console) queues(ctx context.Context, r *http.Request, p page) ([]barRow, error) {
	role := operatorOf(r).Role
	var rows []barRow
	add := func(key string, n int64, fill string) {
		rows = append(rows, barRow{Label: p.T(key), Value: n, Text: count(n), Fill: fill})
	}
	if admin.Allowed(role, admin.FamilyTransactions, false) {
		for _, typ := range []string{funding.TypeDeposit, funding.TypeWithdraw} {
			res, err := c.d.Funds.Review(ctx, funding.ReviewFilter{Type: typ, Status: funding.StatusWaiting}, 1, 0)
			if err != nil {
				return nil, err
			}
			add("queue."+typ, res.Total, "#0b6bcb")
		}
	}
	if admin.Allowed(role, admin.FamilyOrders, false) {
		_, n, _, err := c.d.Orders.List(ctx, order.Filter{Stuck: true}, 1, 0)
		if err != nil {
			return nil, err
		}
		add("queue.stuck", n, "#b54708")
	}
	if admin.Allowed(role, admin.FamilyWebhooks, false) {
		for _, st := range []string{webhook.StatusPending, webhook.StatusFailed} {
			_, n, err := c.d.Hooks.Deliveries(ctx, st, 1, 0)
			if err != nil {
				return nil, err
			}
			add("queue.webhook."+st, n, "#b42318")
		}
	}
	return rows, nil
}
