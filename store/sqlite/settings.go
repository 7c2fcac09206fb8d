package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/espresso-auth/espresso"
)

// Setting returns the value of the named setting. If there is none it calls
// create, outside any transaction, and stores its value unless another caller
// stored one first; either way every caller gets the stored value. An error of
// create is returned wrapped, with its kind (Internal if it has none), and
// nothing is stored.
func (s *Store) Setting(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error) {
	v, err := getSetting(ctx, s.r, name)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return v, classify("setting", err)
	}
	nv, err := create()
	if err != nil {
		msg := fmt.Sprintf("sqlite: setting %q: creating its value", name)
		var e *espresso.Error
		if errors.As(err, &e) {
			return nil, fmt.Errorf("%s: %w", msg, err)
		}
		return nil, espresso.Wrap(espresso.Internal, err, msg)
	}
	if nv == nil {
		nv = []byte{}
	}
	err = s.write(ctx, "setting", func(tx *sql.Tx, _ time.Time) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, nv)
		if err != nil {
			return err
		}
		v, err = getSetting(ctx, tx, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

func getSetting(ctx context.Context, q querier, name string) ([]byte, error) {
	var v []byte
	if err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}
