package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/sqlite"
	"github.com/espresso-auth/espresso/store/storetest"
)

func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Backend{
		NewDB: func(t testing.TB) storetest.Opener {
			dir := t.TempDir()
			return func(t testing.TB, now func() time.Time) *store.Store {
				t.Helper()
				s, err := sqlite.Open(t.Context(), dir, sqlite.Options{Now: now})
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return s
			}
		},
	})
}

// open opens and migrates the database in dir, closed when t ends.
func open(t testing.TB, dir string, opts sqlite.Options) *store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// newKey returns a fresh key and its stored form.
func newKey(t testing.TB) (apikey.Key, store.NewKey) {
	t.Helper()
	k, err := apikey.New(apikey.Live)
	if err != nil {
		t.Fatal(err)
	}
	return k, store.NewKey{Hash: k.Hash(), Masked: k.Mask()}
}

func wantKind(t testing.TB, what string, err error, kind espresso.Kind) {
	t.Helper()
	if err == nil || espresso.KindOf(err) != kind {
		t.Errorf("%s: error %v (kind %v), want kind %v", what, err, espresso.KindOf(err), kind)
	}
}

func TestOpen_CreatesAPrivateDirectoryAndPrivateFiles(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "data", "espresso")
	s := open(t, dir, sqlite.Options{})
	_, nk := newKey(t)
	if _, _, err := s.CreateAccount(t.Context(), "addr_test1qmodes", &nk); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Join(parent, "data"), 0o700 | os.ModeDir},
		{dir, 0o700 | os.ModeDir},
		{filepath.Join(dir, sqlite.FileName), 0o600},
		{filepath.Join(dir, sqlite.FileName+"-wal"), 0o600},
		{filepath.Join(dir, sqlite.FileName+"-shm"), 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s has mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
	}
}

func TestOpen_AcceptsADirectoryWhoseNameLooksLikeURISyntax(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "we?ird #dir %41&_txlock=deferred")
	s := open(t, dir, sqlite.Options{})
	if _, err := s.AccountByID(t.Context(), "x"); !errors.Is(err, espresso.ErrUserNotFound) {
		t.Errorf("AccountByID: %v, want ErrUserNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
		t.Errorf("the database is not where it should be: %v", err)
	}
}

func TestVersion_OfANewDatabaseCreatesNoTable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := sqlite.Open(t.Context(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if v, err := s.Version(t.Context()); err != nil || v != 0 {
		t.Fatalf("Version = %d, %v; want 0", v, err)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: filepath.Join(dir, sqlite.FileName)}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the database holds %d objects after Version (%v), want none", n, err)
	}
}

func TestData_SurvivesCloseAndReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := sqlite.Open(t.Context(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, nk := newKey(t)
	acct, events, err := s.CreateAccount(t.Context(), "addr_test1qreopen", &nk)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := s.Setting(t.Context(), "secret", func() ([]byte, error) { return []byte("s3"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, dir, sqlite.Options{})
	if applied, err := s.Migrate(t.Context()); err != nil || len(applied) != 0 {
		t.Errorf("Migrate after reopening = %q, %v; want nothing", applied, err)
	}
	got, err := s.AccountByWallet(t.Context(), "addr_test1qreopen")
	if err != nil || got.ID != acct.ID || got.Onboarded != acct.Onboarded || !got.CreatedAt.Equal(acct.CreatedAt) {
		t.Errorf("AccountByWallet after reopening = %+v, %v; want %+v", got, err, acct)
	}
	if k, err := s.LiveKey(t.Context(), acct.ID); err != nil || k.Hash != nk.Hash {
		t.Errorf("LiveKey after reopening: %v", err)
	}
	feed, err := s.Events(t.Context(), 0, 10)
	if err != nil || len(feed) != 1 || feed[0].Seq != events[0].Seq {
		t.Errorf("Events after reopening: %d events, %v", len(feed), err)
	}
	v, err := s.Setting(t.Context(), "secret", func() ([]byte, error) { return []byte("other"), nil })
	if err != nil || !bytes.Equal(v, secret) {
		t.Errorf("Setting after reopening = %q, %v; want %q", v, err, secret)
	}
}

func TestFiles_HoldNoPlaintextKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, dir, sqlite.Options{})
	var keys []apikey.Key
	for range 5 {
		k, nk := newKey(t)
		keys = append(keys, k)
		acct, _, err := s.CreateAccount(t.Context(), "addr_test1q"+nk.Masked, &nk)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			next, nnk := newKey(t)
			keys = append(keys, next)
			if _, _, err := s.RotateKey(t.Context(), acct.ID, &nk.Hash, nnk); err != nil {
				t.Fatal(err)
			}
			nk = nnk
		}
	}

	scan := func(when string) {
		t.Helper()
		var all []byte
		for _, name := range []string{sqlite.FileName, sqlite.FileName + "-wal"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		for _, k := range keys {
			text := k.String()
			if bytes.Contains(all, []byte(text)) || bytes.Contains(all, []byte(text[8:38])) {
				t.Fatalf("%s: the database files contain a key in plaintext", when)
			}
			// The masked form is stored: seeing it shows the scan reads
			// what the store wrote.
			if !bytes.Contains(all, []byte(k.Mask())) {
				t.Fatalf("%s: the masked form %s is not in the files: the scan sees nothing", when, k.Mask())
			}
		}
	}
	scan("while open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	scan("after closing")
}

// lock opens a connection of its own on the database in dir and holds its
// write lock until t ends.
func lock(t testing.TB, dir string) {
	t.Helper()
	path := filepath.Join(dir, sqlite.FileName)
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), `INSERT INTO settings (name, value) VALUES ('lock', x'00')`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = tx.Rollback()
		_ = db.Close()
	})
}

func TestWrites_AreUnavailableWhileAnotherConnectionHoldsTheWriteLockBeyondTheBusyTimeout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, dir, sqlite.Options{BusyTimeout: 50 * time.Millisecond})
	acct, _, err := s.CreateAccount(t.Context(), "addr_test1qlocked", nil)
	if err != nil {
		t.Fatal(err)
	}
	lock(t, dir)

	began := time.Now()
	_, _, err = s.CreateAccount(t.Context(), "addr_test1qother", nil)
	wantKind(t, "CreateAccount while locked", err, espresso.Unavailable)
	_, _, err = s.RotateKey(t.Context(), acct.ID, nil, store.NewKey{Masked: "m"})
	wantKind(t, "RotateKey while locked", err, espresso.Unavailable)
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("two writes waited %v for a 50ms busy timeout", d)
	}
	// Readers do not wait for writers.
	if _, err := s.AccountByID(t.Context(), acct.ID); err != nil {
		t.Errorf("AccountByID while locked: %v", err)
	}
	if _, _, err := s.Snapshot(t.Context()); err != nil {
		t.Errorf("Snapshot while locked: %v", err)
	}
}

func TestWrites_AreUnavailableWhenTheContextEndsWhileWaitingForALock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, dir, sqlite.Options{}) // the default, long, busy timeout
	lock(t, dir)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, _, err := s.CreateAccount(ctx, "addr_test1qdeadline", nil)
	wantKind(t, "CreateAccount past its deadline", err, espresso.Unavailable)
	if d := time.Since(began); d >= sqlite.DefaultBusyTimeout {
		t.Errorf("CreateAccount waited %v, past its context's deadline", d)
	}

	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	_, err = s.PruneNonces(ctx, time.Now())
	wantKind(t, "PruneNonces with a cancelled context", err, espresso.Unavailable)
}
