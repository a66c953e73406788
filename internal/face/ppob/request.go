package ppob

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"kios/internal/fault"
)

// ewalletRequest is the body of inquiry and transaction. Unknown fields are
// ignored; every field is a JSON string.
type ewalletRequest struct {
	ReqID     string `json:"req_id"`
	ProductID string `json:"product_id"`
	CustID    string `json:"cust_id"`
	Amount    string `json:"amount"`
}

// decodeRequest parses body, naming the field of a wrong type, and checks
// that the required fields are present (req_id only when needReqID). The
// amount is parsed by parseAmount.
func decodeRequest(body []byte, needReqID bool) (ewalletRequest, int64, error) {
	var req ewalletRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return req, 0, fault.Field(fault.Missing, te.Field, "%s must be a string", te.Field)
		}
		return req, 0, fault.Field(fault.Missing, "body", "the request body is not a valid JSON object")
	}
	for _, f := range []struct{ name, v string }{{"req_id", req.ReqID}, {"product_id", req.ProductID}, {"cust_id", req.CustID}} {
		if f.name == "req_id" && !needReqID {
			continue
		}
		if strings.TrimSpace(f.v) == "" {
			return req, 0, fault.Field(fault.Missing, f.name, "%s is required", f.name)
		}
	}
	amount, err := parseAmount(req.Amount)
	return req, amount, err
}

// maxAmountDigits is more digits than any amount kios accepts
// (catalog.MaxMoney has 13), and few enough for an int64.
const maxAmountDigits = 15

// parseAmount reads an amount written as digits only, as the reference
// asks. Leading zeros are allowed ("01000" is 1000). An empty amount is
// missing (fault.Missing); anything but digits is fault.Invalid; more
// digits than any amount could have is fault.AboveMaximum; each about
// "amount". Bounds of the product are checked by the catalog.
func parseAmount(s string) (int64, error) {
	if s == "" {
		return 0, fault.Field(fault.Missing, "amount", "amount is required")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fault.Field(fault.Invalid, "amount", "amount must be digits only, e.g. \"50000\"")
		}
	}
	digits := strings.TrimLeft(s, "0")
	if len(digits) > maxAmountDigits {
		return 0, fault.Field(fault.AboveMaximum, "amount", "amount is too large")
	}
	if digits == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fault.Field(fault.Invalid, "amount", "amount must be digits only")
	}
	return n, nil
}
