package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/sqlite"
)

// TestUpgrade_TheSessionsMigrationKeepsTheFeedsSeqs builds a database at
// version 2 whose feed holds events and has been pruned past others, then
// lets the sessions' migration rebuild key_events: the events keep their
// seqs and the next event's seq is past every seq ever given, even when
// every event had been pruned (the AUTOINCREMENT counter must not go back,
// or followers would skip the new events).
func TestUpgrade_TheSessionsMigrationKeepsTheFeedsSeqs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		kept    int64 // events left after pruning
		lastSeq int64 // the last seq ever given
		horizon int64 // pruned_through
	}{
		{"events left after pruning", 2, 7, 5},
		{"every event pruned", 0, 7, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"001_initial.sql", "002_spot_accounts.sql"} {
				b, err := os.ReadFile(filepath.Join("migrations", f))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := raw.Exec(string(b)); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
			}
			stmts := []string{
				`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
				`INSERT INTO schema_migrations VALUES (1, '001_initial', 0), (2, '002_spot_accounts', 0)`,
			}
			for seq := int64(1); seq <= c.lastSeq; seq++ {
				stmts = append(stmts, `INSERT INTO key_events (seq, kind, account_id, key_hash, masked, key_created_at, recorded_at)
					VALUES (`+itoa(seq)+`, 1, 'a', zeroblob(32), 'm', 0, 0)`)
			}
			stmts = append(stmts, `DELETE FROM key_events WHERE seq <= `+itoa(c.horizon),
				`UPDATE key_feed SET pruned_through = `+itoa(c.horizon))
			for _, s := range stmts {
				if _, err := raw.Exec(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			raw.Close()

			st := open(t, dir, sqlite.Options{})
			events, err := st.Events(t.Context(), c.horizon, 100)
			if err != nil || int64(len(events)) != c.kept {
				t.Fatalf("Events after the upgrade = %d, %v; want the %d kept", len(events), err, c.kept)
			}
			for i, ev := range events {
				if ev.Seq != c.horizon+1+int64(i) || ev.Kind != store.KeyIssued {
					t.Errorf("event %d after the upgrade: seq %d kind %v", i, ev.Seq, ev.Kind)
				}
			}
			_, nk := newKey(t)
			_, evs, err := st.CreateAccount(t.Context(), "addr_test1qupgrade"+itoa(c.kept), &nk)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Seq != c.lastSeq+1 {
				t.Errorf("the first event after the upgrade has seq %d, want %d", evs[0].Seq, c.lastSeq+1)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
