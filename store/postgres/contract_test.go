package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
	"github.com/espresso-auth/espresso/store/storetest"
)

// TestContract runs the store contract suite, each database a fresh schema of
// the test database. The suite proves what the store does, not how fast: its
// calls get a generous bound (the default is 4 s), so that a machine loaded
// by other work does not fail a race of 32 rotations queued on the feed
// lock. How fast a call fails when the database is down or silent is the
// outage and hang tests' business, with the default bound.
func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Backend{
		NewDB: func(t testing.TB) storetest.Opener {
			url := pgtest.URL(t)
			return func(t testing.TB, now func() time.Time) *store.Store {
				return openStore(t, url, Options{Now: now, Timeout: 30 * time.Second})
			}
		},
		Pushes: true,
	})
}

// openStore opens a Store on url, closed when the test ends (closing twice
// is harmless, so callers may also close it).
func openStore(t testing.TB, url string, opts Options) *store.Store {
	t.Helper()
	s, _ := openDriver(t, url, opts)
	return s
}

// openDriver opens a Store on url, and returns it with its driver.
func openDriver(t testing.TB, url string, opts Options) (*store.Store, *driver) {
	t.Helper()
	d, err := open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s := store.New(d, store.Options{Now: opts.Now})
	t.Cleanup(func() { _ = s.Close() })
	return s, d
}

// migrated opens a Store on url and migrates the database.
func migrated(t testing.TB, url string) *store.Store {
	t.Helper()
	s := openStore(t, url, Options{})
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestOpen_RefusesAnEmptyOrMalformedURLWithoutRepeatingIt(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"", "  ", "postgres://user:s3cret@host:notaport/db", "host=h pool_max_conns=lots password=s3cret"} {
		s, err := Open(t.Context(), url, Options{})
		if err == nil {
			_ = s.Close()
			t.Errorf("Open(%q) succeeded", url)
			continue
		}
		if k := espresso.KindOf(err); k != espresso.Invalid {
			t.Errorf("Open(%q): error kind %v, want invalid", url, k)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q): error %q repeats the password", url, err)
		}
	}
}

func TestOpen_DoesNotConnect_SoADatabaseThatIsDownFailsCallsNotOpen(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable", Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() { _ = s.Close() }()
	if err := s.Ping(t.Context()); espresso.KindOf(err) != espresso.Unavailable {
		t.Errorf("Ping of a closed port: error %v, want kind unavailable", err)
	}
}

func TestVersion_OfANewSchemaCreatesNothingInIt(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	s := openStore(t, url, Options{})
	if v, err := s.Version(t.Context()); err != nil || v != 0 {
		t.Fatalf("Version = %d, %v; want 0", v, err)
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var n int
	err = conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = current_schema()`).Scan(&n)
	if err != nil || n != 0 {
		t.Errorf("the schema holds %d relations after Version (%v), want none", n, err)
	}
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The same query sees what Migrate created: it can fail.
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = current_schema()`).Scan(&n); err != nil || n == 0 {
		t.Errorf("the schema holds %d relations after Migrate (%v), want some", n, err)
	}
}
