package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/sqlite"
)

// schemaVersion returns the highest migration applied to the database, 0 for
// one never migrated, creating nothing.
//
// TODO(store.Store.Version): the store rewrite adds Version(ctx) (int64,
// error) with exactly this meaning. Once it is on main, this function's body
// becomes `return st.Version(ctx)` and the rest of this file goes: the
// queries below read the backends' schema_migrations tables behind their
// backs only until then.
func (c *config) schemaVersion(ctx context.Context, st store.Store) (int64, error) {
	_ = st
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if c.DatabaseURL != "" {
		return postgresVersion(ctx, c.DatabaseURL)
	}
	return sqliteVersion(ctx, c.Data)
}

func postgresVersion(ctx context.Context, dbURL string) (int64, error) {
	cfg, err := pgxpool.ParseConfig(dbURL) // it takes out the pool's own parameters
	if err != nil {
		return 0, fmt.Errorf("the database URL cannot be parsed")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return 0, err
	}
	defer func() { _ = conn.Close(ctx) }()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var v int64
	err = conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

func sqliteVersion(ctx context.Context, dir string) (int64, error) {
	path, err := filepath.Abs(filepath.Join(dir, sqlite.FileName))
	if err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v int64
	err = db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
