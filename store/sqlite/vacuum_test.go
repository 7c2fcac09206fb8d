package sqlite_test

import (
	"database/sql"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/sqlite"
)

// pragma reads an integer pragma (or what follows SELECT) of the database
// in dir on a connection of its own.
func pragma(t testing.TB, dir, name string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: filepath.Join(dir, sqlite.FileName)}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var v int64
	q := "PRAGMA " + name
	if strings.Contains(name, " ") {
		q = "SELECT " + name
	}
	if err := db.QueryRowContext(t.Context(), q).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestOpen_ConvertsADatabaseWithoutAutoVacuumToIncremental(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A database as espresso made them before it set the mode.
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: filepath.Join(dir, sqlite.FileName)}).EscapedPath()+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `PRAGMA auto_vacuum = NONE; CREATE TABLE old (v TEXT); INSERT INTO old VALUES ('kept')`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := pragma(t, dir, "auto_vacuum"); got != 0 {
		t.Fatalf("the old database's auto_vacuum = %d, want 0 (none)", got)
	}

	open(t, dir, sqlite.Options{})
	if got := pragma(t, dir, "auto_vacuum"); got != 2 {
		t.Errorf("auto_vacuum after Open = %d, want 2 (incremental)", got)
	}
	if got := pragma(t, dir, "count(*) FROM old"); got != 1 {
		t.Errorf("the old table holds %d rows after the conversion, want 1", got)
	}
}

func TestPrune_GivesTheFreedPagesBackToTheFileSystem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, dir, sqlite.Options{})
	if got := pragma(t, dir, "auto_vacuum"); got != 2 {
		t.Errorf("a new database's auto_vacuum = %d, want 2 (incremental)", got)
	}
	// History: 16 accounts rotating their keys 60 times each.
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, first := newKey(t)
			a, _, err := s.CreateAccount(t.Context(), "addr_test1q"+first.Masked, &first)
			if err != nil {
				t.Error(err)
				return
			}
			for range 60 {
				_, next := newKey(t)
				if _, _, err := s.RotateKey(t.Context(), a.ID, nil, next); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	full := pragma(t, dir, "page_count")

	if _, err := s.PruneEvents(t.Context(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PruneNonces(t.Context(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if free := pragma(t, dir, "freelist_count"); free != 0 {
		t.Errorf("%d free pages left in the file after pruning, want 0", free)
	}
	if pruned := pragma(t, dir, "page_count"); pruned*2 > full {
		t.Errorf("the database has %d pages after pruning its history, %d before: want under half", pruned, full)
	}
	// What is left still works.
	var live []store.Key
	live, _, err := s.Snapshot(t.Context())
	if err != nil || len(live) != 16 {
		t.Errorf("Snapshot after pruning: %d keys, %v; want 16", len(live), err)
	}
}
