package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestWriterDSN_KeepsSubJournalsInMemoryAndCheckpointsEvery4000Pages pins
// the writer connection's settings that the group commit's CPU cost rests
// on (docs/design.md, "Group commit"): a connection opened with the
// writer's DSN reports them, one opened with a reader's keeps SQLite's
// defaults.
func TestWriterDSN_KeepsSubJournalsInMemoryAndCheckpointsEvery4000Pages(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	for _, c := range []struct {
		writer                    bool
		tempStore, autoCheckpoint int64
	}{{true, 2, 4000}, {false, 0, 1000}} {
		db, err := sql.Open("sqlite", dsn(path, 1000, c.writer))
		if err != nil {
			t.Fatal(err)
		}
		var tempStore, autoCheckpoint int64
		if err := db.QueryRow("PRAGMA temp_store").Scan(&tempStore); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("PRAGMA wal_autocheckpoint").Scan(&autoCheckpoint); err != nil {
			t.Fatal(err)
		}
		if tempStore != c.tempStore || autoCheckpoint != c.autoCheckpoint {
			t.Errorf("writer %v: temp_store %d, wal_autocheckpoint %d; want %d, %d",
				c.writer, tempStore, autoCheckpoint, c.tempStore, c.autoCheckpoint)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
