package sqlite

import (
	"context"
	"embed"
	"time"

	"github.com/espresso-auth/espresso/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations implements store.Driver.
func (d *driver) Migrations() ([]store.Migration, error) {
	return store.Migrations(migrationFS, "migrations")
}

func (x executor) AppliedMigrations(ctx context.Context) ([]int64, error) {
	var exists bool
	err := x.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_schema
		WHERE type = 'table' AND name = 'schema_migrations')`).Scan(&exists)
	if err != nil || !exists {
		return nil, err
	}
	rows, err := x.tx.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var versions []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		versions = append(versions, v)
	}
	return versions, rows.Err()
}

// ApplyMigration runs the migration, then the migrations table's DDL, as
// one script: modernc.org/sqlite runs every statement of a string.
func (x executor) ApplyMigration(ctx context.Context, m store.Migration, at time.Time) error {
	if _, err := x.tx.ExecContext(ctx, m.SQL+`
;
		CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT;`); err != nil {
		return err
	}
	_, err := x.tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, toMicros(at))
	return err
}
