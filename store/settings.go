package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/espresso-auth/espresso"
)

// Setting returns the value of the named server-wide setting (never nil).
// If it has none, Setting calls create, outside any transaction, and stores
// its value unless another caller stored one first; either way every caller,
// in any process, gets the stored value. An error of create is returned
// wrapped, with its kind (Internal if it has none), and nothing is stored.
func (s *Store) Setting(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error) {
	var (
		v     []byte
		found bool
	)
	err := s.read(ctx, "setting", func(ctx context.Context, r Reader) (err error) {
		v, found, err = r.Setting(ctx, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	if found {
		return v, nil
	}
	nv, err := create()
	if err != nil {
		msg := fmt.Sprintf("%s: setting %q: creating its value", s.d.Name(), name)
		var e *espresso.Error
		if errors.As(err, &e) {
			return nil, fmt.Errorf("%s: %w", msg, err)
		}
		return nil, espresso.Wrap(espresso.Internal, err, msg)
	}
	if nv == nil {
		nv = []byte{}
	}
	err = s.write(ctx, "setting", RowTx, func(ctx context.Context, tx Tx, _ time.Time) error {
		if err := tx.InsertSetting(ctx, name, nv); err != nil {
			return err
		}
		value, found, err := tx.Setting(ctx, name)
		v = value
		return orMissing(found, err, errors.New("the setting was stored but cannot be read"))
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
