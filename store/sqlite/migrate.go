package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded migrations/NNN_name.sql file.
type migration struct {
	version int64
	name    string // the file name without ".sql", e.g. "001_initial"
	sql     string
}

// migrations returns the embedded migrations in version order. A file whose
// name does not start with a positive number and an underscore, or two files
// with the same number, are a build mistake and panic.
func migrations() []migration {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	var ms []migration
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".sql")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			panic(fmt.Sprintf("sqlite: migration %q is not named NNN_name.sql", n))
		}
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			panic(err)
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			panic(fmt.Sprintf("sqlite: migrations %q and %q have the same number", ms[i-1].name, ms[i].name))
		}
	}
	return ms
}

// Migrate applies, in order, the embedded migrations not yet recorded in
// schema_migrations, each in its own write transaction together with its
// record, and returns the names of those it applied. Several processes may
// migrate at once: the write lock serialises them and each migration is
// applied by exactly one of them.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	err := s.write(ctx, "migrate", func(tx *sql.Tx, _ time.Time) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT`)
		return err
	})
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range migrations() {
		done := false
		err := s.write(ctx, "migrate "+m.name, func(tx *sql.Tx, now time.Time) error {
			var n int
			err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n)
			if err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, toMicros(now))
			done = err == nil
			return err
		})
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.name)
		}
	}
	return applied, nil
}
