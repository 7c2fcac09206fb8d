package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// timestamp formats t as the API does (RFC 3339, UTC, whole seconds).
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// migrate applies the database's pending migrations and lists them.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := newFlagSet("migrate", stdout)
	c.storeFlags(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if _, _, err := c.networks(); err != nil {
		return err
	}
	st, applied, err := openStore(ctx, &c)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, name := range applied {
		fmt.Fprintln(stdout, "applied", name)
	}
	return nil
}
