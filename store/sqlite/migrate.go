package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

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
	ms, err := store.Migrations(migrationFS, "migrations")
	if err != nil {
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: migrate")
	}
	for _, m := range ms {
		done := false
		err := s.write(ctx, "migrate "+m.Name, func(tx *sql.Tx, now time.Time) error {
			var n int
			err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n)
			if err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, toMicros(now))
			done = err == nil
			return err
		})
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.Name)
		}
	}
	return applied, nil
}
