package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/postgres"
	"github.com/espresso-auth/espresso/store/sqlite"
)

// openStore opens and migrates the configured database (PostgreSQL with
// --database-url, else the embedded one), and checks that it belongs to the
// configured network: keys of one network must never be served by a server
// of the other. Only a command that may create the database passes create;
// for the others a database that does not exist yet is a noDatabaseError,
// and nothing is created: no directory, no file, no table. observe, if not
// nil, is told of every database call (store.Options.Observe).
func openStore(ctx context.Context, c *config, create bool, observe func(string, time.Duration, error)) (*store.Store, []string, error) {
	if !create && c.DatabaseURL == "" {
		if err := c.sqliteExists(); err != nil {
			return nil, nil, err
		}
	}
	var st *store.Store
	var err error
	if c.DatabaseURL != "" {
		st, err = postgres.Open(ctx, c.DatabaseURL, postgres.Options{Observe: observe})
	} else {
		st, err = sqlite.Open(ctx, c.Data, sqlite.Options{Observe: observe})
	}
	if err != nil {
		return nil, nil, fmt.Errorf("opening the database (%s): %w", describe(c), err)
	}
	if !create {
		v, err := st.Version(ctx)
		if err != nil {
			st.Close()
			return nil, nil, fmt.Errorf("reading the version of the database (%s): %w", describe(c), err)
		}
		if v == 0 {
			st.Close()
			return nil, nil, &noDatabaseError{describe(c)}
		}
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

// tightenData makes the embedded database's directory and files private
// before it is opened, and logs what it changed: an operator must learn
// that the modes were loose. (Opening it does the same silently; a
// directory that cannot be made private is refused there.)
func tightenData(c *config, log *slog.Logger) {
	if c.DatabaseURL != "" {
		return
	}
	changed, _ := sqlite.Tighten(c.Data)
	for _, ch := range changed {
		log.Warn("made the data directory private", "changed", ch)
	}
}

// noDatabaseError is what a command that may not create a database says
// when there is none where it was told to look.
type noDatabaseError struct{ where string }

func (e *noDatabaseError) Error() string {
	return "no database at " + e.where + " (check --data or --database-url; 'espresso migrate' creates one)"
}

// sqliteExists checks that the embedded database's file exists, without
// creating anything.
func (c *config) sqliteExists() error {
	_, err := os.Stat(filepath.Join(c.Data, sqlite.FileName))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return &noDatabaseError{describe(c)}
	}
	if err != nil {
		return fmt.Errorf("looking for the database (%s): %w", describe(c), err)
	}
	return nil
}

// describe names the database for logs and errors without revealing
// credentials.
func describe(c *config) string {
	if c.DatabaseURL == "" {
		return "sqlite:" + c.Data
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil || u.Scheme == "" {
		return "postgres (URL not shown)"
	}
	u.RawQuery = "" // parameters may include password=
	return u.Redacted()
}

// pollInterval is how often a server reads the key feed without being told
// to. PostgreSQL notifies every node of a change within milliseconds, so its
// poll is only the bound for a notification lost on a live connection; the
// embedded database has no notifications, so the CLI's changes are seen by
// polling.
func pollInterval(c *config) time.Duration {
	if c.DatabaseURL != "" {
		return time.Second
	}
	return 100 * time.Millisecond
}
