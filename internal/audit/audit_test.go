package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kios/internal/audit"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/operator"
	"kios/internal/password"
)

func TestRecordListAndAppendOnly(t *testing.T) {
	password.Cost = 4
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ops := operator.NewStore(d, nil)
		ana, err := ops.Add(ctx, "ana", operator.Admin, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		budi, err := ops.Add(ctx, "budi", operator.Finance, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		entries := []audit.Entry{
			{At: t0, OperatorID: ana.ID, Operator: "ana", Action: "member.create", TargetType: "member", Target: "zorro",
				After: audit.JSON(map[string]any{"level": "reseller"}), Comment: "new reseller"},
			{At: t0.Add(time.Hour), OperatorID: budi.ID, Operator: "budi", Action: "transaction.accept", TargetType: "deposit",
				Target: "DEP1", Before: `{"status":"unpaid"}`, After: `{"status":"success"}`, Comment: "paid"},
			{At: t0.Add(48 * time.Hour), OperatorID: budi.ID, Operator: "budi", Action: "transaction.reject", TargetType: "withdraw",
				Target: "WD1", Comment: "wrong name"},
		}
		if err := d.Write(ctx, func(tx *db.Tx) error {
			for _, e := range entries {
				if err := audit.Record(tx, e); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		log := audit.NewLog(d)
		for _, tc := range []struct {
			name    string
			f       audit.Filter
			targets string // newest first
		}{
			{"all", audit.Filter{}, "WD1 DEP1 zorro"},
			{"operator", audit.Filter{Operator: "BUDI"}, "WD1 DEP1"},
			{"action prefix", audit.Filter{Action: "transaction."}, "WD1 DEP1"},
			{"exact action", audit.Filter{Action: "transaction.accept"}, "DEP1"},
			{"action without a dot is exact", audit.Filter{Action: "transaction"}, ""},
			{"target type", audit.Filter{TargetType: "member"}, "zorro"},
			{"target", audit.Filter{Target: "WD1"}, "WD1"},
			{"from", audit.Filter{From: t0.Add(30 * time.Minute)}, "WD1 DEP1"},
			{"to", audit.Filter{To: t0.Add(2 * time.Hour)}, "DEP1 zorro"},
		} {
			got, total, err := log.List(ctx, tc.f, 10, 0)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var ts []string
			for _, e := range got {
				ts = append(ts, e.Target)
			}
			if strings.Join(ts, " ") != tc.targets || total != int64(len(ts)) {
				t.Errorf("%s: %q (total %d), want %q", tc.name, ts, total, tc.targets)
			}
		}
		got, _, err := log.List(ctx, audit.Filter{Target: "DEP1"}, 10, 0)
		if err != nil || len(got) != 1 {
			t.Fatalf("%v %v", got, err)
		}
		if g := got[0]; g.Operator != "budi" || g.OperatorID != budi.ID || g.Before != `{"status":"unpaid"}` ||
			g.After != `{"status":"success"}` || g.Comment != "paid" || !g.At.Equal(t0.Add(time.Hour)) {
			t.Errorf("entry read back = %+v", g)
		}
		page2, total, err := log.List(ctx, audit.Filter{}, 2, 2)
		if err != nil || total != 3 || len(page2) != 1 || page2[0].Target != "zorro" {
			t.Errorf("second page of 2 = %v (total %d, %v), want the oldest entry", page2, total, err)
		}
		// The database refuses changes to the log from anywhere.
		for _, q := range []string{"UPDATE audit_log SET comment = 'x'", "DELETE FROM audit_log"} {
			err := d.Write(ctx, func(tx *db.Tx) error { _, err := tx.Exec(q); return err })
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want refused as append-only", q, err)
			}
		}
		if _, total, _ := log.List(ctx, audit.Filter{}, 10, 0); total != 3 {
			t.Errorf("after refused changes: %d entries, want 3", total)
		}
	})
}

func TestCheckComment(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		code fault.Code
	}{
		{"  paid in full ", "paid in full", ""},
		{"", "", fault.Missing},
		{"   ", "", fault.Missing},
		{"line\nbreak", "", fault.Invalid},
		{strings.Repeat("é", audit.MaxComment), strings.Repeat("é", audit.MaxComment), ""},
		{strings.Repeat("a", audit.MaxComment+1), "", fault.Invalid},
	} {
		got, err := audit.CheckComment(tc.in)
		if fault.CodeOf(err) != tc.code || got != tc.want {
			t.Errorf("CheckComment(%.20q) = %.20q, %v; want %.20q, %q", tc.in, got, err, tc.want, tc.code)
		}
		var fe *fault.Error
		if err != nil && (!errors.As(err, &fe) || fe.Field != "comment") {
			t.Errorf("CheckComment(%.20q): fault not about comment: %v", tc.in, err)
		}
	}
}

func TestRecordRefusesAnonymousEntries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		err := d.Write(context.Background(), func(tx *db.Tx) error {
			return audit.Record(tx, audit.Entry{At: time.Now(), Action: "x"})
		})
		if err == nil {
			t.Fatal("an entry without an operator was recorded")
		}
	})
}
