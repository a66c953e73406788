package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"kios/internal/dbtest"
	"kios/internal/member"
	"kios/internal/operator"
)

// TestAddTakesPasswordFromEnvironment: member add and operator add take
// the password from KIOS_MEMBER_PASSWORD and KIOS_OPERATOR_PASSWORD when
// --password is absent, print no generated one, and the password signs in.
func TestAddTakesPasswordFromEnvironment(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			dsn, dbArgs := databaseDSN(t, target, dir)
			env := map[string]string{"KIOS_MEMBER_PASSWORD": "member-rahasia", "KIOS_OPERATOR_PASSWORD": "operator-rahasia"}
			kios := func(args ...string) string {
				var out bytes.Buffer
				args = append(append(append([]string{"kios"}, args...), "--data-dir", dir), dbArgs...)
				if err := run(ctx, args, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				return out.String()
			}
			for _, out := range []string{
				kios("member", "add", "--username", "budi"),
				kios("operator", "add", "--username", "ani", "--role", "viewer"),
				kios("member", "add", "--username", "sari", "--password", "flag-menang"),
			} {
				if strings.Contains(out, "password:") {
					t.Errorf("a password was generated despite the environment: %q", out)
				}
			}
			d := dbtest.Open(t, dsn)
			members := member.NewStore(d, time.Now)
			if _, err := members.CheckPassword(ctx, "budi", "member-rahasia"); err != nil {
				t.Errorf("member password from the environment: %v", err)
			}
			if _, err := members.CheckPassword(ctx, "sari", "flag-menang"); err != nil {
				t.Errorf("--password wins over the environment: %v", err)
			}
			if _, err := operator.NewStore(d, time.Now).CheckPassword(ctx, "ani", "operator-rahasia"); err != nil {
				t.Errorf("operator password from the environment: %v", err)
			}
		})
	}
}
