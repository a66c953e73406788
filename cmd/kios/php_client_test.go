package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// phpClient calls kios the way the reference providers' PHP examples do:
// Bearer key, the secret key as Signature on calls that move money, JSON
// bodies, and CURLOPT_FAILONERROR off (the body is read whatever the status).
type phpClient struct {
	base, key, secret string
}

func (c phpClient) do(t *testing.T, method, path string, payload any, signed bool) map[string]any {
	t.Helper()
	var body io.Reader
	if payload != nil {
		b, _ := json.Marshal(payload)
		body = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if signed {
		req.Header.Set("Signature", c.secret)
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if out["status"] != float64(200) {
		t.Fatalf("%s %s: %v", method, path, out)
	}
	return out
}

// TestPHPClientFlow: provider → product → create → status → balance against
// `kios serve --demo`, on each database.
func TestPHPClientFlow(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			dir := t.TempDir()
			base, stop := startServe(t, append([]string{"--demo", "--data-dir", dir}, databaseArgs(t, target)...)...)
			defer stop()
			info := readDemo(t, dir)
			c := phpClient{base: base, key: info.APIKey, secret: info.SecretKey}

			providers := c.do(t, "GET", "/api/prepaid/provider?active=1", nil, false)["data"].([]any)
			var ml map[string]any
			for _, p := range providers {
				if p.(map[string]any)["name"] == "Mobile Legends" {
					ml = p.(map[string]any)
				}
			}
			if ml == nil {
				t.Fatalf("no Mobile Legends in %v", providers)
			}
			var keys []string
			for _, f := range ml["forms"].([]any) {
				keys = append(keys, f.(map[string]any)["key"].(string))
			}
			if strings.Join(keys, ",") != "id,server" {
				t.Fatalf("Mobile Legends form keys %v, want id,server", keys)
			}
			products := c.do(t, "GET", "/api/prepaid/product?provider="+ml["code"].(string)+"&active=1", nil, false)["data"].([]any)
			p := products[0].(map[string]any)
			price := p["price"].(float64)

			created := c.do(t, "POST", "/api/prepaid/transaction/create", map[string]any{
				"target_product_code": p["code"], "id": "1122334455", "server": "112233"}, true)["data"].(map[string]any)
			if created["status"] != "processing" || created["price"] != price || created["type"] != "order" {
				t.Fatalf("create: %v", created)
			}
			ref := created["reference"].(string)

			var st map[string]any
			for range 200 {
				st = c.do(t, "GET", "/api/prepaid/transaction/"+ref, nil, false)["data"].(map[string]any)
				if st["status"] != "processing" {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if st["status"] != "success" || st["sn"] == "" || !strings.HasPrefix(st["note"].(string), "Transaksi berhasil pada ") {
				t.Fatalf("status: %v", st)
			}
			bal := c.do(t, "POST", "/api/prepaid/transaction/balance", []any{}, true)["data"].(map[string]any)
			if bal["balance"] != 1_000_000-price {
				t.Fatalf("balance %v, want %v", bal["balance"], 1_000_000-price)
			}
			resp, err := http.Get(created["invoice_url"].(string))
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(page), ref) || !strings.Contains(string(page), st["sn"].(string)) {
				t.Fatalf("invoice page: %d\n%s", resp.StatusCode, page)
			}
		})
	}
}
