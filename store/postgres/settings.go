package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

func (x *executor) Setting(ctx context.Context, name string) ([]byte, bool, error) {
	var v []byte
	err := x.q.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if v == nil {
		v = []byte{}
	}
	return v, err == nil, err
}

// InsertSetting waits, if another transaction is storing the setting, for
// it to commit (ON CONFLICT); a later statement of the transaction sees the
// stored row, as each statement reads a new snapshot.
func (x *executor) InsertSetting(ctx context.Context, name string, value []byte) error {
	_, err := x.q.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value)
	return err
}
