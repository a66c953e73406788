package demo

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/password"
)

// TestDemoPasswordsSignIn: the passwords demo.json records sign the demo
// member and operator in to the web pages, and survive a second run.
func TestDemoPasswordsSignIn(t *testing.T) {
	password.Cost = 4
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		deps := Deps{DB: d, Members: member.NewStore(d, nil), Operators: operator.NewStore(d, nil), Now: time.Now}
		path := filepath.Join(t.TempDir(), "demo.json")
		first, err := Ensure(ctx, deps, path, "http://127.0.0.1:8080")
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var file Info
		if err := json.Unmarshal(b, &file); err != nil {
			t.Fatal(err)
		}
		if len(file.Password) < 8 || len(file.Operator.Password) < 8 {
			t.Fatalf("demo.json lacks passwords: %q / %q", file.Password, file.Operator.Password)
		}
		if _, err := deps.Members.CheckPassword(ctx, file.Username, file.Password); err != nil {
			t.Errorf("the member's password from demo.json: %v", err)
		}
		if _, err := deps.Operators.CheckPassword(ctx, file.Operator.Username, file.Operator.Password); err != nil {
			t.Errorf("the operator's password from demo.json: %v", err)
		}
		again, err := Ensure(ctx, deps, path, "http://127.0.0.1:8080")
		if err != nil || again.Password != first.Password || again.Operator.Password != first.Operator.Password {
			t.Errorf("second run changed the passwords (%v)", err)
		}
	})
}
