package db_test

import (
	"context"
	"testing"

	"kios/internal/db"
	"kios/internal/dbtest"
)

func TestInsertIDReturnsEachNewID(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ddl := "CREATE TABLE things (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL)"
		if d.Dialect() == db.SQLite {
			ddl = "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)" // as migrations translate it
		}
		if err := d.Write(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ddl)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, name := range []string{"a", "b", "c"} {
			if err := d.Write(ctx, func(tx *db.Tx) error {
				id, err := tx.InsertID("INSERT INTO things (name) VALUES (?)", name)
				ids = append(ids, id)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		for i, name := range []string{"a", "b", "c"} {
			var got string
			if err := d.QueryRow(ctx, "SELECT name FROM things WHERE id = ?", ids[i]).Scan(&got); err != nil || got != name {
				t.Fatalf("id %d: %q %v, want %q", ids[i], got, err, name)
			}
		}
		if ids[0] == ids[1] || ids[1] == ids[2] {
			t.Fatalf("ids repeat: %v", ids)
		}
	})
}
