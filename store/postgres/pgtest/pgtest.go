// Package pgtest gives tests PostgreSQL databases: an isolated schema in the
// database named by ESPRESSO_TEST_DATABASE_URL (URL), or a throwaway cluster
// of their own that they can stop and start (StartCluster).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable naming the test database, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. CI sets it.
const EnvURL = "ESPRESSO_TEST_DATABASE_URL"

// URL returns the URL of a fresh, empty schema of the database named by
// EnvURL: the database's URL with search_path set to the schema, which is
// dropped (with everything in it) when the test ends. It skips the test if
// EnvURL is not set, and fails it if the database cannot be reached, so that
// CI, which sets it, fails rather than skips when PostgreSQL is down.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		t.Skipf("pgtest: %s is not set; set it to run the PostgreSQL tests, e.g. %s='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'", EnvURL, EnvURL)
	}
	return Schema(t, base)
}

// Schema creates a schema with a random name in the database at base (a URL
// or keyword/value connection string), drops it when the test ends, and
// returns base with search_path set to it. It fails the test if the database
// cannot be reached.
func Schema(t testing.TB, base string) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "espresso_test_" + hex.EncodeToString(b[:])
	if err := execSQL(base, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: creating a test schema in the database of %s: %v", EnvURL, err)
	}
	t.Cleanup(func() {
		if err := execSQL(base, "SET lock_timeout = '10s'; DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("pgtest: dropping test schema %s: %v", name, err)
		}
	})
	return WithParam(base, "search_path", name)
}

// execSQL runs sql on a connection of its own to the database at connString.
func execSQL(connString, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	_, err = conn.Exec(ctx, sql)
	return err
}

// WithParam returns connString (a URL or keyword/value connection string)
// with the connection parameter key set to value; value must not need
// quoting in the keyword/value form.
func WithParam(connString, key, value string) string {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err == nil {
			q := u.Query()
			q.Set(key, value)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return strings.TrimSpace(connString) + " " + key + "=" + value
}
