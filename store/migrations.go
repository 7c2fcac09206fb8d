package store

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/espresso-auth/espresso"
)

// Migration is one embedded NNN_name.sql file of a backend.
type Migration struct {
	Version int64
	Name    string // the file name without ".sql", e.g. "001_initial"
	SQL     string
}

// Migrate applies the backend's embedded migrations that are not yet
// recorded, in order, each in its own transaction together with its record,
// and returns their names. Several processes may migrate at once: each
// migration is applied by exactly one of them. Migrate first pings the
// database, so that one that does not answer fails Migrate as soon as any
// other call; after that only ctx bounds it, as a migration (or waiting for
// another process's) may take long.
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	if err := s.Ping(ctx); err != nil {
		return nil, err
	}
	ms, err := s.d.Migrations()
	if err != nil {
		return nil, espresso.Wrap(espresso.Internal, err, s.d.Name()+": migrate")
	}
	for _, m := range ms {
		done := false
		err := s.write(ctx, "migrate "+m.Name, SchemaTx, func(ctx context.Context, tx Tx, now time.Time) error {
			done = false
			versions, err := tx.AppliedMigrations(ctx)
			if err != nil || slices.Contains(versions, m.Version) {
				return err
			}
			if err := tx.ApplyMigration(ctx, m, now); err != nil {
				return err
			}
			done = true
			return nil
		})
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.Name)
		}
	}
	return applied, nil
}

// Version returns the highest migration version applied to the database, 0
// for a database never migrated. It creates nothing, not even the table
// that records migrations, so it tells a database that exists from one
// that a caller must not create.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	err := s.read(ctx, "version", func(ctx context.Context, r Reader) error {
		versions, err := r.AppliedMigrations(ctx)
		v = 0
		if len(versions) > 0 {
			v = slices.Max(versions)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	return v, nil
}

// Migrations reads the *.sql files of dir in fsys, in version order. A file
// whose name does not start with a positive number and an underscore, or two
// files with the same number, are a build mistake; a backend's tests catch
// them through this error.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".sql")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q is not named NNN_name.sql", n)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %q and %q have the same number", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}
