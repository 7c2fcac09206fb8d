package store

import (
	"testing"
	"testing/fstest"
)

func TestMigrations_AreReadInNumericOrder(t *testing.T) {
	fsys := fstest.MapFS{
		"m/010_later.sql":  {Data: []byte("B")},
		"m/002_second.sql": {Data: []byte("A")},
		"m/README.md":      {Data: []byte("not a migration")},
	}
	ms, err := Migrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Name != "002_second" || ms[0].Version != 2 || ms[1].SQL != "B" {
		t.Errorf("Migrations = %+v", ms)
	}
}

func TestMigrations_RefuseBadNamesAndDuplicateNumbers(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number":        {"m/initial.sql": {}},
		"zero":             {"m/000_x.sql": {}},
		"no underscore":    {"m/001.sql": {}},
		"duplicate number": {"m/001_a.sql": {}, "m/1_b.sql": {}},
	} {
		if _, err := Migrations(fsys, "m"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
