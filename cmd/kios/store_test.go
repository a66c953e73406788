package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/payment"
)

// A static QRIS from design/qris.md, and the same made dynamic.
const (
	cliStaticQRIS  = "00020101021126570011ID.DANA.WWW011893600915362751266202096275126620303UMI51440014ID.CO.QRIS.WWW0215ID10243193490550303UMI5204594553033605802ID5910dpangestuw6012Kab. Bandung6105402386304AC2C"
	cliDynamicQRIS = "00020101021226570011ID.DANA.WWW011893600915362751266202096275126620303UMI51440014ID.CO.QRIS.WWW0215ID10243193490550303UMI5204594553033605405500005802ID5910dpangestuw6012Kab. Bandung610540238630482C0"
)

// TestStoreAddCommand drives kios store add through run() on each database
// and reads the store back through the domain.
func TestStoreAddCommand(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			dbArgs := databaseArgs(t, target)
			common := append([]string{"--data-dir", dir}, dbArgs...)
			kios := func(args ...string) (string, error) {
				var out bytes.Buffer
				err := run(ctx, append(append([]string{"kios"}, args...), common...), noEnv, &out, io.Discard)
				return out.String(), err
			}
			if _, err := kios("member", "add", "--username", "budi"); err != nil {
				t.Fatal(err)
			}
			out, err := kios("store", "add", "--member", "budi", "--name", "Warung dpangestuw", "--qris", cliStaticQRIS,
				"--callback-url", "https://toko.example/cb", "--lifetime", "30m", "--fee-flat", "500", "--fee-percent-bp", "70", "--sandbox")
			m := regexp.MustCompile(`^store (\d+) added for budi`).FindStringSubmatch(out)
			if err != nil || m == nil {
				t.Fatalf("store add: %v %q", err, out)
			}
			id, _ := strconv.ParseInt(m[1], 10, 64)
			if _, err := kios("store", "add", "--member", "budi", "--name", "Minimal"); err != nil {
				t.Fatalf("store add without a QRIS: %v", err)
			}

			for _, c := range []struct {
				name string
				args []string
				want string
			}{
				{"dynamic QRIS", []string{"--member", "budi", "--name", "X", "--qris", cliDynamicQRIS}, "static_qris"},
				{"bad CRC", []string{"--member", "budi", "--name", "X", "--qris", cliStaticQRIS[:len(cliStaticQRIS)-1] + "D"}, "CRC does not match"},
				{"unknown member", []string{"--member", "nobody", "--name", "X"}, "no such member"},
				{"no name", []string{"--member", "budi"}, "--name"},
				{"bad callback", []string{"--member", "budi", "--name", "X", "--callback-url", "ftp://x"}, "callback_url"},
				{"short lifetime", []string{"--member", "budi", "--name", "X", "--lifetime", "30s"}, "lifetime"},
				{"percent over 100", []string{"--member", "budi", "--name", "X", "--fee-percent-bp", "10001"}, "fee_percent_bp"},
			} {
				if _, err := kios(append([]string{"store", "add"}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: got %v, want an error about %q", c.name, err, c.want)
				}
			}

			dsn := filepath.Join(dir, "kios.db")
			if target == "postgres" {
				dsn = dbArgs[1]
			}
			d, err := db.Open(ctx, dsn, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			st, err := payment.NewStores(d, nil).Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st.Name != "Warung dpangestuw" || st.StaticQRIS != cliStaticQRIS || st.CallbackURL != "https://toko.example/cb" ||
				st.Lifetime != 30*time.Minute || st.FeeFlat != 500 || st.FeePercentBP != 70 || !st.Sandbox || !st.Active {
				t.Fatalf("stored store: %+v", st)
			}
			list, err := payment.NewStores(d, nil).ForMember(ctx, st.MemberID)
			if err != nil || len(list) != 2 || list[1].Lifetime != payment.DefaultLifetime || list[1].StaticQRIS != "" {
				t.Fatalf("budi's stores: %+v, %v (the refused ones must not be saved)", list, err)
			}
		})
	}
}
