package admin

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/order"
	"kios/internal/reference"
	"kios/internal/webhook"
)

// orderRow is an order on the wire.
type orderRow struct {
	Reference        string `json:"reference"`
	PartnerReference string `json:"partner_reference"`
	Member           string `json:"member"`
	ProductCode      string `json:"product_code"`
	ProductName      string `json:"product_name"`
	Customer         string `json:"customer"`
	Price            int64  `json:"price"`
	Status           string `json:"status"`
	SN               string `json:"sn"`
	Supplier         string `json:"supplier"`
	Cost             int64  `json:"cost"`
	CreatedAt        string `json:"created_at"`
	StatusAt         string `json:"status_at"`
}

func toOrderRow(o order.Order, username string) orderRow {
	return orderRow{Reference: o.Reference, PartnerReference: o.PartnerReference, Member: username,
		ProductCode: o.ProductCode, ProductName: o.ProductName, Customer: o.Customer, Price: o.Price, Status: o.Status,
		SN: o.SN, Supplier: o.Supplier, Cost: o.Cost, CreatedAt: wire(o.CreatedAt), StatusAt: wire(o.StatusAt)}
}

// Orders answers GET /api/admin/orders?status=&stuck=1&member=&from=&to=:
// orders, paginated, with price totals; stuck=1 lists the orders still
// processing past the configured bound, the longest waiting first.
func Orders(orders *order.Service, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p, err := parsePage(q)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		from, to, err := dayRange(q)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		status, err := oneOf(q, "status", order.Processing, order.Success, order.Failed, order.Refund)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		stuck, err := oneOf(q, "stuck", "0", "1", "true", "false")
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		f := order.Filter{Status: status, Stuck: stuck == "1" || stuck == "true", Member: q.Get("member"), From: from, To: to}
		items, total, all, err := orders.List(r.Context(), f, p.Limit(), p.Offset())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]orderRow, 0, len(items))
		var sum int64
		for _, it := range items {
			rows = append(rows, toOrderRow(it.Order, it.Username))
			sum += it.Price
		}
		writeJSON(w, newList(rows, p, total).withAmounts(sum, all))
	})
}

// ResolveOrder answers POST /api/admin/orders/{reference}/resolve
// {status: success, sn, comment} or {status: failed, comment} (which
// refunds): the manual settlement of a stuck order, exactly once.
func ResolveOrder(orders *order.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Status  string `json:"status"`
			SN      string `json:"sn"`
			Comment string `json:"comment"`
		}
		comment, ok := readChange(w, r, logger, &body, &body.Comment)
		if !ok {
			return
		}
		o, err := ResolveStuck(r.Context(), orders, now, OperatorFrom(r.Context()), r.PathValue("reference"), body.Status, body.SN, comment)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": toOrderRow(o, "")})
	})
}

// Stats answers GET /api/admin/stats?from=&to= (WIB days; the last 30 days
// by default): orders per day and status with counts and price sums, and
// per supplier the share of settled orders that succeeded.
func Stats(orders *order.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, to, err := dayRange(r.URL.Query())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		if to.IsZero() {
			d := now().In(reference.WIB)
			to = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, reference.WIB).UTC()
		}
		if from.IsZero() {
			from = to.AddDate(0, 0, -30)
		}
		if !from.Before(to) {
			writeFault(w, r, logger, fault.Field(fault.Invalid, "from", "must not be after to (today by default)"))
			return
		}
		if to.Sub(from) > 366*24*time.Hour {
			writeFault(w, r, logger, fault.Field(fault.Invalid, "from", "the range may span at most 366 days"))
			return
		}
		days, sups, err := orders.Stats(r.Context(), from, to)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		type dayRow struct {
			Day    string `json:"day"`
			Status string `json:"status"`
			Count  int64  `json:"count"`
			Amount int64  `json:"amount"`
		}
		type supplierRow struct {
			Supplier    string  `json:"supplier"`
			Settled     int64   `json:"settled"`
			Success     int64   `json:"success"`
			SuccessRate float64 `json:"success_rate"`
		}
		dr := make([]dayRow, 0, len(days))
		for _, d := range days {
			dr = append(dr, dayRow{d.Day, d.Status, d.Count, d.Sum})
		}
		sr := make([]supplierRow, 0, len(sups))
		for _, s := range sups {
			sr = append(sr, supplierRow{s.Supplier, s.Settled, s.Success, float64(int(s.Rate()*10000+0.5)) / 10000})
		}
		writeJSON(w, map[string]any{"data": map[string]any{
			"from": from.In(reference.WIB).Format(time.DateOnly), "to": to.Add(-time.Microsecond).In(reference.WIB).Format(time.DateOnly),
			"days": dr, "suppliers": sr}})
	})
}

// attemptRow is a delivery attempt on the wire.
type attemptRow struct {
	N          int    `json:"n"`
	At         string `json:"at"`
	HTTPStatus int    `json:"http_status"`
	LatencyMS  int64  `json:"latency_ms"`
	Error      string `json:"error"`
	Response   string `json:"response"`
}

func toAttemptRow(a webhook.Attempt) attemptRow {
	return attemptRow{N: a.N, At: wire(a.At), HTTPStatus: a.HTTPStatus, LatencyMS: a.Latency.Milliseconds(),
		Error: a.Error, Response: a.Response}
}

// deliveryRow is an outbox message on the wire.
type deliveryRow struct {
	ID          int64           `json:"id"`
	Member      string          `json:"member"`
	Kind        string          `json:"kind"`
	Reference   string          `json:"reference"`
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	NextAt      string          `json:"next_at"`
	CreatedAt   string          `json:"created_at"`
	DeliveredAt string          `json:"delivered_at,omitempty"`
	Payload     json.RawMessage `json:"payload"`
	Last        *attemptRow     `json:"last_attempt"`
}

// Webhooks answers GET /api/admin/webhooks?status=pending|delivered|failed:
// outbox messages, newest first, paginated, each with its last attempt.
func Webhooks(hooks *webhook.Service, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p, err := parsePage(q)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		status, err := oneOf(q, "status", webhook.StatusPending, webhook.StatusDelivered, webhook.StatusFailed)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		items, total, err := hooks.Deliveries(r.Context(), status, p.Limit(), p.Offset())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]deliveryRow, 0, len(items))
		for _, d := range items {
			row := deliveryRow{ID: d.ID, Member: d.Username, Kind: d.Kind, Reference: d.Reference, Status: d.Status,
				Attempts: d.Attempts, NextAt: wire(d.NextAt), CreatedAt: wire(d.CreatedAt), DeliveredAt: wire(d.DeliveredAt),
				Payload: rawOrNull(string(d.Payload))}
			if d.Last != nil {
				a := toAttemptRow(*d.Last)
				row.Last = &a
			}
			rows = append(rows, row)
		}
		writeJSON(w, newList(rows, p, total))
	})
}

// WebhookAttempts answers GET /api/admin/webhooks/{id}: one message with
// every attempt.
func WebhookAttempts(hooks *webhook.Service, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		m, err := hooks.Message(r.Context(), id)
		if errors.Is(err, db.ErrNotFound) {
			writeFault(w, r, logger, fault.New(fault.NotFound, "no webhook message %d", id))
			return
		}
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		as, err := hooks.Attempts(r.Context(), id)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]attemptRow, 0, len(as))
		for _, a := range as {
			rows = append(rows, toAttemptRow(a))
		}
		writeJSON(w, map[string]any{"data": map[string]any{"id": m.ID, "kind": m.Kind, "reference": m.Reference,
			"status": m.Status, "attempts": rows, "payload": rawOrNull(string(m.Payload))}})
	})
}

// Redeliver answers POST /api/admin/webhooks/{id}/redeliver {comment}: a
// delivered or failed message goes back in the outbox, due now; a pending
// one is 409.
func Redeliver(hooks *webhook.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Comment string `json:"comment"`
		}
		comment, ok := readChange(w, r, logger, &body, &body.Comment)
		if !ok {
			return
		}
		id, err := pathID(r, "id")
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		err = RedeliverMessage(r.Context(), hooks, now, OperatorFrom(r.Context()), id, comment)
		switch {
		case errors.Is(err, db.ErrNotFound):
			err = fault.New(fault.NotFound, "no webhook message %d", id)
		case errors.Is(err, webhook.ErrNotRedeliverable):
			err = fault.New(fault.Conflict, "message %d is still pending: it will be sent anyway", id)
		}
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": map[string]any{"id": id, "status": webhook.StatusPending}})
	})
}

// bankRow is a destination account on the wire.
type bankRow struct {
	Code          string `json:"code"`
	Name          string `json:"name"`
	AccountNumber string `json:"account_number"`
	AccountName   string `json:"account_name"`
	Active        bool   `json:"active"`
}

// Banks answers GET /api/admin/banks: the platform's destination accounts.
func Banks(funds *funding.Service, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bs, err := funds.Banks(r.Context())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]bankRow, 0, len(bs))
		for _, b := range bs {
			rows = append(rows, bankRow(b))
		}
		writeJSON(w, map[string]any{"data": rows})
	})
}

// SetBank answers PUT /api/admin/banks
// {code, name, account_number, account_name, active, comment}: creates or
// replaces one destination account. active defaults to true. Deposits
// already made keep the account they were told.
func SetBank(funds *funding.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			bankRow
			Active  *bool  `json:"active"`
			Comment string `json:"comment"`
		}
		comment, ok := readChange(w, r, logger, &body, &body.Comment)
		if !ok {
			return
		}
		b := funding.Bank(body.bankRow)
		b.Active = body.Active == nil || *body.Active
		op := OperatorFrom(r.Context())
		var saved funding.Bank
		err := funds.SetBankWith(r.Context(), b, op.Username, func(tx *db.Tx, before funding.Bank, found bool, after funding.Bank) error {
			saved = after
			var was any
			if found {
				was = bankRow(before)
			}
			return record(entry(op, now(), "bank.set", "bank", after.Code, comment), was, bankRow(after))(tx)
		})
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": bankRow(saved)})
	})
}
