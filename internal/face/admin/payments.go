package admin

import (
	"log/slog"
	"net/http"
	"time"

	"kios/internal/incoming"
	"kios/internal/payment"
)

// incomingRow is one incoming-funds record on the wire.
type incomingRow struct {
	ID         int64  `json:"id"`
	Channel    string `json:"channel"`
	ExternalID string `json:"external_id"`
	Amount     int64  `json:"amount"`
	ReceivedAt string `json:"received_at"`
	Note       string `json:"note"`
	Status     string `json:"status"`
	Reference  string `json:"reference"`
	Reason     string `json:"reason"`
	PostedBy   string `json:"posted_by"`
	CreatedAt  string `json:"created_at"`
	DecidedAt  string `json:"decided_at"`
}

// IncomingList serves GET /api/admin/incoming?status=unmatched|matched|matching&page=&per_page=:
// the records of money received, newest first, with total_amount_page and
// total_amount_all (sums of amount).
func IncomingList(svc *incoming.Service, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p, err := parsePage(q)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		status, err := oneOf(q, "status", "all", incoming.Unmatched, incoming.Matched, incoming.Matching)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		if status == "all" {
			status = ""
		}
		recs, total, sumAll, err := svc.List(r.Context(), status, p.Limit(), p.Offset())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]incomingRow, 0, len(recs))
		var sumPage int64
		for _, l := range recs {
			sumPage += l.Amount
			rows = append(rows, incomingRow{ID: l.ID, Channel: l.Channel, ExternalID: l.ExternalID, Amount: l.Amount,
				ReceivedAt: wire(l.ReceivedAt), Note: l.Note, Status: l.Status, Reference: l.Reference, Reason: l.Reason,
				PostedBy: l.PostedBy, CreatedAt: wire(l.CreatedAt), DecidedAt: wire(l.DecidedAt)})
		}
		writeJSON(w, newList(rows, p, total).withAmounts(sumPage, sumAll))
	})
}

// assignBody is the body of POST /api/admin/incoming/{id}/assign.
type assignBody struct {
	Reference string `json:"reference"`
	Comment   string `json:"comment"`
}

// IncomingAssign serves POST /api/admin/incoming/{id}/assign {reference, comment}:
// an unmatched QRIS record pays the invoice an operator names (its
// amount must be the invoice's total). Answer: {"matched":{"reference":…}}.
// One audit entry (action "incoming.assign") is written with the change.
func IncomingAssign(svc *incoming.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		var b assignBody
		if !decode(w, r, &b) {
			return
		}
		res, err := AssignIncoming(r.Context(), svc, now, OperatorFrom(r.Context()), id, b.Reference, b.Comment)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		var out matchedBody
		out.Matched = &struct {
			Reference string `json:"reference"`
		}{res.Reference}
		writeJSON(w, out)
	})
}

// paymentRow is one payment invoice on the wire.
type paymentRow struct {
	Invoice      string `json:"invoice"`
	StoreID      int64  `json:"store_id"`
	StoreName    string `json:"store_name"`
	Member       string `json:"member"`
	MerchantRef  string `json:"merchant_ref"`
	Amount       int64  `json:"amount"`
	UniqueCode   int64  `json:"unique_code"`
	TotalAmount  int64  `json:"total_amount"`
	Fee          int64  `json:"fee"`
	Status       string `json:"status"`
	Late         bool   `json:"late"`
	PaidBy       string `json:"paid_by"`
	Description  string `json:"description"`
	CustomerName string `json:"customer_name"`
	CreatedAt    string `json:"created_at"`
	ExpiredAt    string `json:"expired_at"`
	PaidAt       string `json:"paid_at"`
}

// Payments serves GET /api/admin/payments?store=&member=&status=all|paid|unpaid|expired&from=&to=&page=&per_page=:
// payment invoices, newest first, by store id, owner's username, status
// (as of now: an unpaid invoice past expired_at is expired) and the WIB
// days they were made, with total_amount_page and total_amount_all (sums
// of total_amount).
func Payments(svc *payment.Service, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p, err := parsePage(q)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		f, err := PaymentFilter(q)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		invs, total, sumAll, err := svc.List(r.Context(), f, p.Limit(), p.Offset())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		now := svc.Now()
		rows := make([]paymentRow, 0, len(invs))
		var sumPage int64
		for _, l := range invs {
			sumPage += l.Total
			rows = append(rows, paymentRow{Invoice: l.Invoice.Invoice, StoreID: l.StoreID, StoreName: l.StoreName, Member: l.Member,
				MerchantRef: l.MerchantRef, Amount: l.Amount, UniqueCode: l.UniqueCode, TotalAmount: l.Total, Fee: l.Fee,
				Status: l.StatusAt(now), Late: l.Late, PaidBy: l.PaidBy, Description: l.Description, CustomerName: l.CustomerName,
				CreatedAt: wire(l.CreatedAt), ExpiredAt: wire(l.ExpiredAt), PaidAt: wire(l.PaidAt)})
		}
		writeJSON(w, newList(rows, p, total).withAmounts(sumPage, sumAll))
	})
}
