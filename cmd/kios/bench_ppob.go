package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// postTopup sends one e-wallet transaction as the reference's curl example
// does and returns "" when it succeeded (rc 000: the supplier answered
// within the wait), else the kind of failure (its rc, or the HTTP status).
func postTopup(client *http.Client, base string, cred benchCred, product, reqID string) string {
	body := fmt.Appendf(nil, `{"req_id":%q,"product_id":%q,"cust_id":"081234567890","amount":"50000"}`, reqID, product)
	req, _ := http.NewRequest("POST", base+"/api/v1/merchant/ppob/ewallet/transaction", bytes.NewReader(body))
	req.Header.Set("X-API-Key", cred.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "transport"
	}
	defer resp.Body.Close()
	var out struct {
		RC string `json:"rc"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Sprintf("http_%d", resp.StatusCode)
	}
	if out.RC != "000" {
		return "rc_" + out.RC
	}
	return ""
}
