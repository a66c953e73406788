package admin

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"kios/internal/audit"
	"kios/internal/db"
	"kios/internal/funding"
	"kios/internal/operator"
)

// MaxBulk is the most items one bulk decision may carry.
const MaxBulk = 25

var errTooManyItems = apiError{http.StatusUnprocessableEntity, "too_many_items",
	"a bulk decision carries at most 25 items; nothing was done", "items"}

// destination is where a transaction's money goes: for a deposit, the
// platform's account the member was told to pay; for a withdrawal, the
// member's account.
type destination struct {
	Bank          string `json:"bank"`
	AccountNumber string `json:"account_number"`
	AccountName   string `json:"account_name"`
}

// transactionRow is one row of the review queue.
type transactionRow struct {
	Reference     string      `json:"reference"`
	Member        string      `json:"member"`
	Type          string      `json:"type"`
	Status        string      `json:"status"`
	CreatedAt     string      `json:"created_at"`
	Amount        int64       `json:"amount"`
	UniqueCode    int64       `json:"unique_code,omitempty"`
	Price         int64       `json:"price"`
	Via           string      `json:"via,omitempty"`
	Bank          string      `json:"bank,omitempty"`
	AccountName   string      `json:"account_name"`
	AccountNumber string      `json:"account_number"`
	Destination   destination `json:"destination"`
	Reason        string      `json:"reason,omitempty"`
	StatusAt      string      `json:"status_at"`
	ExpiredAt     string      `json:"expired_at,omitempty"`
}

func toTransactionRow(it funding.ReviewItem) transactionRow {
	row := transactionRow{Reference: it.Reference, Member: it.Username, Type: it.Type, Status: it.Status,
		CreatedAt: wire(it.CreatedAt), Amount: it.Amount, UniqueCode: it.UniqueCode, Price: it.Price,
		AccountName: it.AccountName, AccountNumber: it.AccountNumber, Reason: it.Reason,
		StatusAt: wire(it.StatusAt), ExpiredAt: wire(it.ExpiredAt),
		Destination: destination{Bank: it.Via, AccountNumber: it.AccountNumber, AccountName: it.AccountName}}
	if it.Type == funding.TypeDeposit {
		row.Via = it.Channel
	} else {
		row.Bank = it.Channel
	}
	return row
}

// Transactions answers GET /api/admin/transactions with the review queue:
// ?type=deposit|withdraw&status=waiting(default)|all|unpaid|…&via=&account_name=&member=&from=&to=,
// newest first, paginated, with price totals.
func Transactions(funds *funding.Service, logger *slog.Logger) http.Handler {
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
		typ, err := oneOf(q, "type", funding.TypeDeposit, funding.TypeWithdraw)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		status, err := oneOf(q, "status", funding.StatusWaiting, "all", funding.Unpaid, funding.Processing,
			funding.Success, funding.Failed, funding.Expired)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		switch status {
		case "":
			status = funding.StatusWaiting
		case "all":
			status = ""
		}
		f := funding.ReviewFilter{Type: typ, Status: status, Via: q.Get("via"), AccountName: q.Get("account_name"),
			Member: q.Get("member"), From: from, To: to}
		if f.Via == "" {
			f.Via = q.Get("bank")
		}
		res, err := funds.Review(r.Context(), f, p.Limit(), p.Offset())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]transactionRow, 0, len(res.Items))
		var sum int64
		for _, it := range res.Items {
			rows = append(rows, toTransactionRow(it))
			sum += it.Price
		}
		writeJSON(w, newList(rows, p, res.Total).withAmounts(sum, res.Sum))
	})
}

// decisionState is what the audit log keeps of a transaction before and
// after a decision.
type decisionState struct {
	Status string `json:"status"`
	Amount int64  `json:"amount"`
	Price  int64  `json:"price"`
	Member int64  `json:"member_id"`
	Reason string `json:"reason,omitempty"`
}

func stateOf(t funding.Transaction) decisionState {
	return decisionState{Status: t.Status, Amount: t.Amount, Price: t.Price, Member: t.MemberID, Reason: t.Reason}
}

// decide takes one decision for op and records it in the audit log in the
// same transaction.
func decide(ctx context.Context, funds *funding.Service, now func() time.Time, op operator.Operator,
	ref, action, comment string) (funding.Transaction, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return funding.Transaction{}, err
	}
	return funds.Decide(ctx, ref, action, op.Username, comment, func(tx *db.Tx, before, after funding.Transaction) error {
		e := entry(op, now(), "transaction."+action, after.Type, after.Reference, comment)
		e.Before, e.After = audit.JSON(stateOf(before)), audit.JSON(stateOf(after))
		return audit.Record(tx, e)
	})
}

// decisionBody is the body of accept and reject.
type decisionBody struct {
	Comment string `json:"comment"`
}

// Decision answers POST /api/admin/transactions/{reference}/accept and
// /reject (action): the decision, exactly once; a transaction that no
// longer waits is 409 and moves no money.
func Decision(funds *funding.Service, action string, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body decisionBody
		if !decode(w, r, &body) {
			return
		}
		t, err := decide(r.Context(), funds, now, OperatorFrom(r.Context()), r.PathValue("reference"), action, body.Comment)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": toTransactionRow(funding.ReviewItem{Transaction: t})})
	})
}

// bulkBody is the body of a bulk decision.
type bulkBody struct {
	Items []struct {
		Reference string `json:"reference"`
		Action    string `json:"action"`
		Comment   string `json:"comment"`
	} `json:"items"`
}

// bulkOutcome is one item's outcome.
type bulkOutcome struct {
	Reference string       `json:"reference"`
	OK        bool         `json:"ok"`
	Error     *errorDetail `json:"error,omitempty"`
}

// Bulk answers POST /api/admin/transactions/bulk: up to 25 decisions, each
// taken on its own (one failing does not stop the others), with each
// item's outcome. More than 25 items is 422 and nothing is done.
func Bulk(funds *funding.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bulkBody
		if !decode(w, r, &body) {
			return
		}
		if len(body.Items) == 0 {
			writeError(w, apiError{http.StatusBadRequest, "missing", "items: at least one item is required", "items"})
			return
		}
		if len(body.Items) > MaxBulk {
			writeError(w, errTooManyItems)
			return
		}
		op := OperatorFrom(r.Context())
		out := struct {
			Done   int           `json:"done"`
			Failed int           `json:"failed"`
			Items  []bulkOutcome `json:"items"`
		}{Items: make([]bulkOutcome, 0, len(body.Items))}
		for _, it := range body.Items {
			o := bulkOutcome{Reference: it.Reference, OK: true}
			if _, err := decide(r.Context(), funds, now, op, it.Reference, it.Action, it.Comment); err != nil {
				e, known := faultError(err)
				if !known {
					logger.ErrorContext(r.Context(), "admin: bulk decision failed", "reference", it.Reference, "err", err)
				}
				o.OK, o.Error = false, &errorDetail{Code: e.code, Message: e.message, Field: e.field}
			}
			if o.OK {
				out.Done++
			} else {
				out.Failed++
			}
			out.Items = append(out.Items, o)
		}
		writeJSON(w, out)
	})
}
