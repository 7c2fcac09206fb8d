package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

func (x executor) Setting(ctx context.Context, name string) ([]byte, bool, error) {
	var v []byte
	err := x.tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if v == nil {
		v = []byte{}
	}
	return v, err == nil, err
}

func (x executor) InsertSetting(ctx context.Context, name string, value []byte) error {
	_, err := x.tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value)
	return err
}
