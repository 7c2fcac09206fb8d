package postgres

import (
	"context"
	"embed"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/store"
)

// AppliedMigrations looks for the table in the current schema, where
// ApplyMigration creates it.
func (x *executor) AppliedMigrations(ctx context.Context) ([]int64, error) {
	var exists bool
	err := x.q.QueryRow(ctx, `SELECT to_regclass(quote_ident(current_schema()) || '.schema_migrations') IS NOT NULL`).Scan(&exists)
	if err != nil || !exists {
		return nil, err
	}
	rows, _ := x.q.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// ApplyMigration sends the migration and the migrations table's DDL
// without arguments, so that pgx uses the simple query protocol, which runs
// several statements.
func (x *executor) ApplyMigration(ctx context.Context, m store.Migration, at time.Time) error {
	if _, err := x.q.Exec(ctx, m.SQL+`
;
		CREATE TABLE IF NOT EXISTS schema_migrations (
			version    bigint      NOT NULL PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL
		);`); err != nil {
		return err
	}
	_, err := x.q.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.Version, m.Name, at)
	x.migrated = err == nil
	return err
}

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations implements store.Driver.
func (d *driver) Migrations() ([]store.Migration, error) {
	return store.Migrations(migrationFS, "migrations")
}
