package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"kios/internal/dbtest"
	"kios/internal/funding"
	"kios/internal/ledger"
	"kios/internal/member"
)

// TestFundingCommands drives deposit confirm and withdrawal accept/reject
// through run() on each database.
func TestFundingCommands(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			dbArgs := databaseArgs(t, target)
			kios := func(args ...string) (string, error) {
				var out bytes.Buffer
				all := append(append(append([]string{"kios"}, args...), "--data-dir", dir), dbArgs...)
				err := run(ctx, all, noEnv, &out, io.Discard)
				return out.String(), err
			}
			if _, err := kios("member", "add", "--username", "budi", "--password", "rahasia123"); err != nil {
				t.Fatal(err)
			}
			dsn := filepath.Join(dir, "kios.db")
			if len(dbArgs) >= 2 {
				dsn = dbArgs[1]
			}
			d := dbtest.Open(t, dsn)
			funds := funding.New(d, funding.Options{})
			if err := funds.Prepare(ctx, funding.DemoBanks()); err != nil {
				t.Fatal(err)
			}
			budi, err := member.NewStore(d, nil).ByUsername(ctx, "budi")
			if err != nil {
				t.Fatal(err)
			}
			dep, err := funds.Deposit(ctx, budi.ID, 500_000, "bca")
			if err != nil {
				t.Fatal(err)
			}

			out, err := kios("deposit", "confirm", dep.Reference, "--by", "ani")
			if err != nil || !strings.Contains(out, "deposit "+dep.Reference+" is success") {
				t.Fatalf("deposit confirm: %v %q", err, out)
			}
			balance := func() int64 {
				b, err := ledger.Balance(ctx, d, ledger.MemberCode(budi.ID))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			if balance() != dep.Price {
				t.Fatalf("balance %d after confirming, want the price %d", balance(), dep.Price)
			}
			if _, err := kios("deposit", "confirm", "--reference", dep.Reference); err == nil || !strings.Contains(err.Error(), "already success") {
				t.Fatalf("confirming twice: %v", err)
			}
			if _, err := kios("deposit", "confirm", "--reference", "DEP24010100000000000"); err == nil {
				t.Fatal("confirming an unknown deposit succeeded")
			}
			if _, err := kios("deposit", "confirm"); err == nil || !strings.Contains(err.Error(), "reference is required") {
				t.Fatalf("no reference: %v", err)
			}
			if h, _ := funds.History(ctx, dep.Reference); len(h) != 2 || h[1].Actor != "ani" {
				t.Fatalf("history %+v", h)
			}
			dep2, _ := funds.Deposit(ctx, budi.ID, 20_000, "qris")
			if out, err := kios("deposit", "reject", dep2.Reference, "--reason", "tidak ada dana masuk"); err != nil || !strings.Contains(out, "is expired") {
				t.Fatalf("deposit reject: %v %q", err, out)
			}

			req := funding.WithdrawalRequest{Amount: 100_000, Bank: "bri", AccountNumber: "012301000123456", AccountName: "Budi"}
			w1, _, err := funds.Withdraw(ctx, budi.ID, req)
			if err != nil {
				t.Fatal(err)
			}
			w2, _, err := funds.Withdraw(ctx, budi.ID, req)
			if err != nil {
				t.Fatal(err)
			}
			if out, err := kios("withdrawal", "accept", "--reference", w1.Reference); err != nil || !strings.Contains(out, "paid out to Bank BRI 012301000123456") {
				t.Fatalf("withdrawal accept: %v %q", err, out)
			}
			if _, err := kios("withdrawal", "reject", "--reference", w2.Reference); err == nil || !strings.Contains(err.Error(), "--reason is required") {
				t.Fatalf("reject without a reason: %v", err)
			}
			if out, err := kios("withdrawal", "reject", "--reference", w2.Reference, "--reason", "nama rekening tidak cocok"); err != nil || !strings.Contains(out, "returned") {
				t.Fatalf("withdrawal reject: %v %q", err, out)
			}
			if _, err := kios("withdrawal", "accept", w2.Reference); err == nil || !strings.Contains(err.Error(), "already failed") {
				t.Fatalf("accepting a rejected withdrawal: %v", err)
			}
			if got, want := balance(), dep.Price-100_000; got != want {
				t.Fatalf("balance %d, want %d", got, want)
			}
			if out, err := kios("ledger", "verify"); err != nil || !strings.Contains(out, "ledger OK") {
				t.Fatalf("ledger verify: %v %s", err, out)
			}
		})
	}
}

// TestServeDepositEndToEnd: kios serve --demo takes a deposit over HTTP on
// the demo destination accounts; kios deposit confirm, run beside the
// server on the same data, credits it.
func TestServeDepositEndToEnd(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"--demo", "--data-dir", dir}, databaseArgs(t, target)...)
			base, stopServe := startServe(t, args...)
			stop := sync.OnceValue(stopServe)
			defer stop()
			info := readDemo(t, dir)
			post := func(path, body string) (int, string) {
				req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+info.APIKey)
				req.Header.Set("Signature", info.SecretKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			status, body := post("/api/prepaid/transaction/deposit", `{"amount":500000,"via":"bca"}`)
			m := regexp.MustCompile(`^\{"status":200,"data":\{"type":"deposit","reference":"(DEP\d{17})","provider":"DEPOSIT","product":"Isi Saldo Rp. 500.000","price":(500\d{3}),"via":"Bank BCA","status":"unpaid","invoice_url":"` +
				regexp.QuoteMeta(base) + `/trx/DEP\d{17}","expired_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"\}\}$`).FindStringSubmatch(body)
			if status != 200 || m == nil {
				t.Fatalf("deposit: %d %s", status, body)
			}
			price, _ := strconv.ParseInt(m[2], 10, 64)
			var out bytes.Buffer
			if err := run(context.Background(), append([]string{"kios", "deposit", "confirm", m[1]}, databaseArgs2(args)...),
				func(k string) string {
					if k == "KIOS_DATA_DIR" {
						return dir
					}
					return ""
				}, &out, io.Discard); err != nil {
				t.Fatalf("deposit confirm beside the server: %v", err)
			}
			want := `{"status":200,"data":{"username":"demo","level":"reseller","balance":` + strconv.FormatInt(1_000_000+price, 10) + `}}`
			if status, body := phpBalance(t, base, info.APIKey, info.SecretKey); status != 200 || body != want {
				t.Fatalf("balance after the deposit: %d %s, want %s", status, body, want)
			}
			status, body = post("/api/prepaid/transaction/withdraw", `{"amount":100000,"bank":"bca","account_number":"1234567890","account_name":"Demo"}`)
			if status != 200 || !strings.Contains(body, `"status":"processing"`) {
				t.Fatalf("withdraw: %d %s", status, body)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			d := dbtest.Open(t, dsnOf(dir, args))
			if r, err := ledger.Verify(context.Background(), d); err != nil || !r.OK() {
				t.Fatalf("ledger: %v %s", err, r)
			}
		})
	}
}

func dsnOf(dir string, args []string) string {
	if a := databaseArgs2(args); len(a) == 2 {
		return a[1]
	}
	return filepath.Join(dir, "kios.db")
}
