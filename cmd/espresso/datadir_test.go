package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/espresso-auth/espresso/store/sqlite"
)

// TestDataDir_LooseModesAreTightenedAndAnotherUsersDirectoryIsRefused runs
// the binary on a data directory left world-writable with world-readable
// files: a command that opens the database (migrate, while a server runs)
// and serve at its start make the directory 0700 and the database, -wal
// and -shm files 0600, and serve logs it. A directory, or a database file,
// owned by another user is refused with a message saying so, and left as
// it was. (The tests run as root, who could read it anyway: only espresso's
// own check refuses it.)
func TestDataDir_LooseModesAreTightenedAndAnotherUsersDirectoryIsRefused(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	files := []string{data, filepath.Join(data, sqlite.FileName), filepath.Join(data, sqlite.FileName+"-wal"), filepath.Join(data, sqlite.FileName+"-shm")}
	loosen := func() {
		t.Helper()
		for i, f := range files {
			mode := fs.FileMode(0o644)
			if i == 0 {
				mode = 0o777
			}
			if err := os.Chmod(f, mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantModes := func(when string, dir, file fs.FileMode) {
		t.Helper()
		for i, f := range files {
			want := file
			if i == 0 {
				want = dir
			}
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s: %s is %04o, want %04o", when, filepath.Base(f), fi.Mode().Perm(), want)
			}
		}
	}
	espresso := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(binary(t), args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// A running server keeps the -wal and -shm files.
	p := startProcess(t, freeAddr(t), "--data", data)
	loosen()
	if out, err := espresso("migrate", "--data", data); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	wantModes("after migrate", 0o700, 0o600)

	loosen()
	p.kill(t) // SIGKILL: the -wal and -shm files stay
	p = startProcess(t, freeAddr(t), "--data", data)
	wantModes("after serve started", 0o700, 0o600)
	if !strings.Contains(p.logs.String(), `"msg":"made the data directory private","changed":"`+data+`: 0777 -> 0700"`) {
		t.Errorf("serve did not log what it tightened:\n%s", p.logs)
	}
	p.kill(t)

	if os.Geteuid() != 0 {
		t.Skip("giving the directory to another user needs root")
	}
	const nobody = 65534
	for _, target := range []string{files[0], files[1]} {
		loosen()
		if err := os.Chown(target, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"migrate", "--data", data}, {"serve", "--addr", freeAddr(t), "--data", data}} {
			out, err := espresso(args...)
			if err == nil || !strings.Contains(out, target+" belongs to another user (uid 65534)") {
				t.Errorf("%s with %s owned by nobody: %v\n%s", args[0], filepath.Base(target), err, out)
			}
		}
		wantModes("after a refusal", 0o777, 0o644)
		if err := os.Chown(target, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
}
