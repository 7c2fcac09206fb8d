package main

import (
	"context"
	"fmt"

	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/sqlite"
)

// openStore opens and migrates the configured database, and checks that it
// belongs to the configured network: keys of one network must never be
// served by a server of the other.
func openStore(ctx context.Context, c *config) (store.Store, []string, error) {
	st, err := sqlite.Open(ctx, c.Data, sqlite.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("opening the database in %s: %w", c.Data, err)
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("migrating the database: %w", err)
	}
	got, err := st.Setting(ctx, "network", func() ([]byte, error) { return []byte(c.Network), nil })
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("reading the database's network: %w", err)
	}
	if string(got) != c.Network {
		st.Close()
		return nil, nil, fmt.Errorf("the database holds %s accounts; refusing to use it for %s", got, c.Network)
	}
	return st, applied, nil
}
