package postgres

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLock is the first statement of every migration transaction: the
// advisory transaction lock of the current schema's migrations, so that
// processes migrating at once apply each migration exactly once, in order.
const migrateLock = `SELECT pg_advisory_xact_lock(1702064243, hashtext(coalesce(current_schema(), '')))`

// Migrate applies, in order, the embedded migrations not yet recorded in
// the current schema's schema_migrations table (which it creates), each in
// its own transaction together with its record, and returns the names of
// those it applied. Several processes may migrate at once: each transaction
// takes the schema's migration lock first and checks the record again, so
// each migration is applied by exactly one of them. Migrate first pings the
// database within the store's timeout; after that it is bounded by ctx only,
// as a migration (or waiting for another process's) may take long.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	// A database that does not answer fails Migrate within the store's
	// timeout, like every other method; only the migrations themselves, and
	// waiting for another process's, may take longer.
	if err := s.run(ctx, "migrate", func(ctx context.Context) error { return s.pool.Ping(ctx) }); err != nil {
		return nil, err
	}
	var applied []string
	err := s.migrateTx(ctx, "migrate", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    bigint      NOT NULL PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL
		)`)
		return err
	})
	if err != nil {
		return nil, err
	}
	ms, err := store.Migrations(migrationFS, "migrations")
	if err != nil {
		return nil, espresso.Wrap(espresso.Internal, err, "postgres: migrate")
	}
	for _, m := range ms {
		done := false
		err := s.migrateTx(ctx, "migrate "+m.Name, func(tx pgx.Tx) error {
			var n int
			err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n)
			if err != nil || n > 0 {
				return err
			}
			// No arguments: pgx sends the file with the simple query
			// protocol, which runs several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, s.clock())
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
	// Connections that prepared statements before the tables changed would
	// fail with "cached plan must not change result type"; start afresh.
	if len(applied) > 0 {
		s.pool.Reset()
	}
	return applied, nil
}

// migrateTx runs fn in a transaction that first takes the migration lock.
func (s *Store) migrateTx(ctx context.Context, op string, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return classify(op, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, migrateLock); err != nil {
		return classify(op, err)
	}
	if err := fn(tx); err != nil {
		return classify(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return classify(op, err)
	}
	return nil
}
