package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso"
)

// Setting returns the value of the named setting. If there is none it calls
// create, outside any transaction, and stores its value unless another caller
// (in any process) stored one first; either way every caller gets the stored
// value. An error of create is returned wrapped, with its kind (Internal if
// it has none), and nothing is stored.
func (s *Store) Setting(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error) {
	var (
		v     []byte
		found bool
	)
	err := s.run(ctx, "setting", func(ctx context.Context) (err error) {
		v, err = getSetting(ctx, s.pool, name)
		found = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
		return err
	})
	if err != nil || found {
		return v, err
	}
	nv, err := create()
	if err != nil {
		msg := fmt.Sprintf("postgres: setting %q: creating its value", name)
		var e *espresso.Error
		if errors.As(err, &e) {
			return nil, fmt.Errorf("%s: %w", msg, err)
		}
		return nil, espresso.Wrap(espresso.Internal, err, msg)
	}
	if nv == nil {
		nv = []byte{}
	}
	err = s.run(ctx, "setting", func(ctx context.Context) error {
		// Two statements, not one: if another transaction stored a value
		// first, ON CONFLICT waits for it to commit, and only a statement
		// that starts after that sees its row.
		_, err := s.pool.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING`, name, nv)
		if err != nil {
			return err
		}
		v, err = getSetting(ctx, s.pool, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// getSetting returns the value of name (never nil), or pgx.ErrNoRows.
func getSetting(ctx context.Context, q querier, name string) ([]byte, error) {
	var v []byte
	if err := q.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}
