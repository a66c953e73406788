package ppob

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"kios/internal/catalog"
	"kios/internal/fault"
	"kios/internal/member"
	"kios/internal/order"
	"kios/internal/reference"
)

func money(n int64) string { return strconv.FormatInt(n, 10) }

// balance reads the member's balance for an answer.
func balance(ctx context.Context, members *member.Store, id int64) (string, error) {
	b, err := members.Balance(ctx, id)
	return money(b), err
}

// Inquiry answers POST /ewallet/inquiry: it checks the product, the number
// and the amount, asks the supplier who holds the account when it can, and
// prices the top-up for the caller's level. No money moves.
func Inquiry(orders *order.Service, members *member.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerFrom(r.Context())
		req, amount, err := decodeRequest(c.body, false)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		q, err := orders.Price(r.Context(), c.member.Level, req.ProductID, req.CustID, amount)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		acct, asked, err := orders.Inquire(r.Context(), q)
		if err != nil {
			logger.WarnContext(r.Context(), "ppob: inquiry: supplier unreachable", "err", err)
			writeError(w, apiError{http.StatusBadGateway, rcSystem, "The supplier could not be asked, try again later"})
			return
		}
		bal, err := balance(r.Context(), members, c.member.ID)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		d := inquiryData{ReqID: req.ReqID, RefID: reference.New("INQ", now()), ProductID: q.Product.Code, CustID: q.Customer,
			Status: statusSuccess, RC: rcSuccess, Description: descriptions[rcSuccess],
			Message: fmt.Sprintf("INQUIRY %s %d KE %s SUKSES", q.Product.Code, q.Amount, q.Customer),
			Amount:  money(q.Amount), UnitPrice: money(q.Price), BalanceUsed: "0", Balance: bal}
		if asked && !acct.Found {
			d.Status, d.RC, d.Description = statusFailed, rcCustomer, descriptions[rcCustomer]
			d.Message = fmt.Sprintf("INQUIRY %s %d KE %s GAGAL: NOMOR TIDAK TERDAFTAR", q.Product.Code, q.Amount, q.Customer)
			writeOK(w, "E-wallet inquiry failed", rcCustomer, d)
			return
		}
		d.Data.CustomerName = acct.Name
		writeOK(w, "E-wallet inquiry completed successfully", rcSuccess, d)
	})
}

// Transaction answers POST /ewallet/transaction: it charges the unit price
// and sends the top-up to the supplier, then waits up to wait for the
// outcome. req_id makes it idempotent: the same request again answers the
// same transaction's current state (waiting again while it is pending) and
// never charges twice.
func Transaction(orders *order.Service, members *member.Store, wait time.Duration, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerFrom(r.Context())
		req, amount, err := decodeRequest(c.body, true)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		t, _, err := orders.CreateTopup(r.Context(), c.member, order.TopupRequest{ReqID: req.ReqID, ProductCode: req.ProductID,
			Customer: req.CustID, Amount: amount})
		if fault.CodeOf(err) == fault.Insufficient {
			bal, err := balance(r.Context(), members, c.member.ID)
			if err != nil {
				writeFault(w, r, logger, err)
				return
			}
			writeOK(w, "Transaction failed", rcInsufficient, refusedData{ReqID: req.ReqID, Status: statusFailed, RC: rcInsufficient,
				Description: descriptions[rcInsufficient], Message: "Saldo deposit tidak mencukupi", Balance: bal})
			return
		}
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		if t, err = orders.AwaitTopup(r.Context(), t, wait); err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeTopup(w, r, members, logger, t)
	})
}

// TransactionStatus answers GET /transaction/{req_id} with the caller's
// transaction in the same shape; an unknown req_id is 404.
func TransactionStatus(orders *order.Service, members *member.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerFrom(r.Context())
		t, err := orders.TopupByReqID(r.Context(), c.member.ID, r.PathValue("req_id"))
		if fault.CodeOf(err) == fault.NotFound {
			writeError(w, errTxNotFound)
			return
		}
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeTopup(w, r, members, logger, t)
	})
}

// writeTopup answers with a transaction's state: SUCCESS (000, with its
// serial number), FAILED (050; the charge has been returned) or PENDING
// (068).
//
// The balance is the member's right after this transaction: on the answer
// to the request that charged it, the balance the charge left (as the
// reference's example shows, balance before minus balance_used), unless
// the charge has been returned since; otherwise the balance now.
func writeTopup(w http.ResponseWriter, r *http.Request, members *member.Store, logger *slog.Logger, t order.Topup) {
	bal := money(t.BalanceAfter)
	if !t.Charged || t.Status == order.Failed {
		var err error
		if bal, err = balance(r.Context(), members, t.MemberID); err != nil {
			writeFault(w, r, logger, err)
			return
		}
	}
	d := txData{ReqID: t.ReqID, RefID: t.Reference, ProductID: t.ProductCode, CustID: t.Customer,
		Amount: money(t.Amount), UnitPrice: money(t.Price), BalanceUsed: money(t.Price), Balance: bal, SerialNo: t.SN}
	what := fmt.Sprintf("TOPUP %s %d KE %s", t.ProductCode, t.Amount, t.Customer)
	message := "E-wallet payment created successfully"
	switch t.Status {
	case order.Success:
		d.Status, d.RC, d.Message = statusSuccess, rcSuccess, what+" SUKSES"
	case order.Processing:
		d.Status, d.RC, d.Message = statusPending, rcPending, what+" SEDANG DIPROSES"
		message = "E-wallet payment is being processed"
	default: // failed, or refunded by an operator: the charge is back
		d.Status, d.RC, d.Message, d.BalanceUsed = statusFailed, rcFailed, what+" GAGAL, SALDO DIKEMBALIKAN", "0"
		message = "Transaction failed"
	}
	d.Description = descriptions[d.RC]
	writeOK(w, message, d.RC, d)
}

// productData is one e-wallet product of the catalog call, priced for the
// caller's level.
type productData struct {
	ProductID   string `json:"product_id"`
	Operator    string `json:"operator"`
	Description string `json:"description"`
	Category    string `json:"category"`
	AdminFee    string `json:"admin_fee"`
	MinAmount   string `json:"min_amount"`
	MaxAmount   string `json:"max_amount"`
	Active      bool   `json:"active"`
}

// Products answers GET /products: the e-wallet products sold to the
// caller's level, with its admin fee. category, when given, must be
// "ewallet" for any product to be listed.
func Products(cat *catalog.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callerFrom(r.Context())
		out := []productData{}
		if category := r.URL.Query().Get("category"); category == "" || category == "ewallet" {
			list, err := cat.Ewallets(r.Context())
			if err != nil {
				writeFault(w, r, logger, err)
				return
			}
			for _, e := range list {
				fee, sold := e.Fee(c.member.Level)
				if !sold {
					continue
				}
				out = append(out, productData{ProductID: e.Code, Operator: e.Operator, Description: e.Name, Category: "ewallet",
					AdminFee: money(fee), MinAmount: money(e.MinAmount), MaxAmount: money(e.MaxAmount), Active: e.Active})
			}
		}
		writeOK(w, "Products retrieved successfully", rcSuccess, out)
	})
}
