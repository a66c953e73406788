package dbtest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPGLogNamesOnlyTestsThatRan: KIOS_TEST_PG_LOG gets the name of a test
// that made a PostgreSQL schema and finished, and not that of one that made
// a schema and then skipped, so .ci/run's count is of tests that ran.
func TestPGLogNamesOnlyTestsThatRan(t *testing.T) {
	if os.Getenv("KIOS_TEST_POSTGRES_URL") == "" {
		t.Skip("KIOS_TEST_POSTGRES_URL is not set")
	}
	log := filepath.Join(t.TempDir(), "pg.log")
	t.Setenv("KIOS_TEST_PG_LOG", log)
	t.Run("ran", func(t *testing.T) {
		if DSN(t, "postgres") == "" {
			t.Fatal("no DSN with KIOS_TEST_POSTGRES_URL set")
		}
	})
	t.Run("skipped", func(t *testing.T) {
		DSN(t, "postgres")
		t.Skip("skips after making its schema")
	})
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if want := t.Name() + "/ran\n"; string(b) != want {
		t.Fatalf("log %q, want %q", b, want)
	}
}
