package storetest

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/espresso-auth/espresso/store"
)

func (h harness) testMigrate(t *testing.T) {
	t.Parallel()
	t.Run("migrating a fresh database applies migrations once and a second run applies none", func(t *testing.T) {
		t.Parallel()
		d := h.unmigrated(t)
		s := d.handle(t)
		applied, err := s.Migrate(t.Context())
		if err != nil {
			t.Fatalf("first Migrate: %v", err)
		}
		if len(applied) == 0 {
			t.Fatal("first Migrate applied nothing")
		}
		if dup := duplicate(applied); dup != "" {
			t.Errorf("first Migrate applied %q twice: %q", dup, applied)
		}
		again, err := s.Migrate(t.Context())
		if err != nil || len(again) != 0 {
			t.Errorf("second Migrate = %q, %v; want nothing applied", again, err)
		}
		other, err := d.handle(t).Migrate(t.Context())
		if err != nil || len(other) != 0 {
			t.Errorf("Migrate from another handle = %q, %v; want nothing applied", other, err)
		}
		createAccount(t, s, nil)
	})

	t.Run("two handles migrating a fresh database at once both succeed and apply each migration once", func(t *testing.T) {
		t.Parallel()
		ref := h.unmigrated(t)
		want, err := ref.handle(t).Migrate(t.Context())
		if err != nil {
			t.Fatalf("reference Migrate: %v", err)
		}

		d := h.unmigrated(t)
		handles := []*store.Store{d.handle(t), d.handle(t)}
		applied := make([][]string, len(handles))
		errs := make([]error, len(handles))
		race(len(handles), handles, func(i int, s *store.Store) {
			applied[i], errs[i] = s.Migrate(t.Context())
		})
		var all []string
		for i := range handles {
			if errs[i] != nil {
				t.Errorf("Migrate on handle %d: %v", i, errs[i])
			}
			all = append(all, applied[i]...)
		}
		if dup := duplicate(all); dup != "" {
			t.Errorf("migration %q was applied by both handles (%q, %q)", dup, applied[0], applied[1])
		}
		slices.Sort(all)
		slices.Sort(want)
		if !slices.Equal(all, want) {
			t.Errorf("the handles applied %q between them, want %q", all, want)
		}
		for i, s := range handles {
			if again, err := s.Migrate(t.Context()); err != nil || len(again) != 0 {
				t.Errorf("Migrate again on handle %d = %q, %v; want nothing applied", i, again, err)
			}
			createAccount(t, s, nil)
		}
	})
}

// duplicate returns a name that occurs twice in names, or "".
func duplicate(names []string) string {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return n
		}
		seen[n] = true
	}
	return ""
}

func (h harness) testVersion(t *testing.T) {
	t.Parallel()
	t.Run("a database never migrated is at version 0, and asking changes nothing", func(t *testing.T) {
		t.Parallel()
		d := h.unmigrated(t)
		s := d.handle(t)
		for i := range 2 {
			if v, err := s.Version(t.Context()); err != nil || v != 0 {
				t.Fatalf("Version %d of a database never migrated = %d, %v; want 0", i+1, v, err)
			}
		}
		ref := h.unmigrated(t)
		want, err := ref.handle(t).Migrate(t.Context())
		if err != nil {
			t.Fatalf("reference Migrate: %v", err)
		}
		applied, err := s.Migrate(t.Context())
		if err != nil || !slices.Equal(applied, want) {
			t.Errorf("Migrate after Version = %q, %v; want every migration, %q", applied, err, want)
		}
	})

	t.Run("a migrated database is at the version of its last migration, from any handle", func(t *testing.T) {
		t.Parallel()
		d := h.unmigrated(t)
		applied, err := d.handle(t).Migrate(t.Context())
		if err != nil || len(applied) == 0 {
			t.Fatalf("Migrate = %q, %v", applied, err)
		}
		last := applied[len(applied)-1]
		num, _, _ := strings.Cut(last, "_")
		want, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			t.Fatalf("the last migration, %q, does not start with its number", last)
		}
		for _, s := range []*store.Store{d.handle(t), d.handle(t)} {
			v, err := s.Version(t.Context())
			if err != nil || v != want {
				t.Errorf("Version = %d, %v; want %d, the number of the last migration, %q", v, err, want, last)
			}
			if again, err := s.Migrate(t.Context()); err != nil || len(again) != 0 {
				t.Errorf("Migrate = %q, %v; want nothing applied", again, err)
			}
			if v2, err := s.Version(t.Context()); err != nil || v2 != v {
				t.Errorf("Version after migrating again = %d, %v; want %d", v2, err, v)
			}
		}
	})
}
