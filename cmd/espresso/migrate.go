package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// timestamp formats t as the API does (RFC 3339, UTC, whole seconds).
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// migrateOutput is what migrate prints.
type migrateOutput struct {
	Database string   `json:"database"` // described without credentials
	Applied  []string `json:"applied"`  // the migrations this run applied, in order; never null
	Version  int64    `json:"version"`  // the highest migration applied, by this run or before
}

// migrate applies the database's pending migrations, creating the database
// if needed, and prints what it did.
func migrate(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	var c config
	fs := newFlagSet("migrate", stdout)
	c.storeFlags(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if _, _, err := c.networks(); err != nil {
		return err
	}
	st, applied, err := openStore(ctx, &c, true, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.Version(ctx)
	if err != nil {
		return fmt.Errorf("reading the version of the database (%s): %w", describe(&c), err)
	}
	return printJSON(stdout, migrateOutput{Database: describe(&c), Applied: append([]string{}, applied...), Version: v})
}
