package keys

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store/postgres"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
)

// TestFollower_OnPostgreSQL_ADatabaseRestoredToAnEarlierStateIsFollowed
// restores the database under a running node to a copy taken before some
// rotations and revocations: the node notices that the feed now ends
// before its position, forgets the keys "from the future" and answers as
// the restored database does.
func TestFollower_OnPostgreSQL_ADatabaseRestoredToAnEarlierStateIsFollowed(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	ctx := t.Context()
	admin, err := postgres.Open(ctx, dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	if _, err := admin.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ks := createKeys(t, New(admin, Options{Logger: quiet()}), 3)
	backupSeq, err := admin.FeedHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	tables := copyTables(t, conn)

	s := New(admin, Options{Logger: quiet(), PollInterval: 20 * time.Millisecond})
	if err := s.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	startRun(t, s)
	other := New(admin, Options{Logger: quiet()})
	future, err := other.Rotate(ctx, ks[0].AccountID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Revoke(ctx, ks[1].AccountID, nil); err != nil {
		t.Fatal(err)
	}
	head, err := admin.FeedHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.Stats().Seq == head }, "the node to read the changes")
	if _, err := s.Verify(ctx, future.Key.String()); err != nil {
		t.Fatalf("the rotated key before the restore: %v", err)
	}

	restoreTables(t, conn, tables)
	waitFor(t, func() bool { st := s.Stats(); return st.Seq == backupSeq && st.Loaded }, "the node to follow the restored feed")
	if _, err := s.Verify(ctx, future.Key.String()); !errors.Is(err, espresso.ErrUnauthorized) {
		t.Errorf("a key the restored database never issued: %v, want ErrUnauthorized", err)
	}
	for i, k := range ks {
		if info, err := s.Verify(ctx, k.Key.String()); err != nil || info.AccountID != k.AccountID {
			t.Errorf("key %d, live in the restored database: %+v, %v", i, info, err)
		}
	}
	if n := s.Stats().Keys; n != len(ks) {
		t.Errorf("the replica holds %d keys, want the restored database's %d", n, len(ks))
	}
}

// copyTables copies every table of the connection's schema into a backup
// schema (dropped when the test ends) and returns their names.
func copyTables(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	ctx := t.Context()
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema() || '_backup'`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	for _, tab := range tables {
		if _, err := conn.Exec(ctx, "CREATE TABLE "+pgx.Identifier{schema, tab}.Sanitize()+" AS TABLE "+pgx.Identifier{tab}.Sanitize()); err != nil {
			t.Fatal(err)
		}
	}
	return tables
}

// restoreTables puts back the copies copyTables made, in one transaction,
// as a restore from a backup would (triggers and foreign keys off while
// it runs, as pg_restore --disable-triggers does).
func restoreTables(t *testing.T, conn *pgx.Conn, tables []string) {
	t.Helper()
	ctx := t.Context()
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema() || '_backup'`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			return err
		}
		for _, tab := range tables {
			if _, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{tab}.Sanitize()); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO "+pgx.Identifier{tab}.Sanitize()+" TABLE "+pgx.Identifier{schema, tab}.Sanitize()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("restoring the backup: %v", err)
	}
}
