package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/espresso-auth/espresso"
)

// The modes the data directory and its database files must have: they
// hold every account, key hash and the token secret.
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// Tighten makes an existing data directory private: the directory mode
// 0700 and the database file and SQLite's -wal and -shm files 0600,
// provided this process's user owns each; it returns what it changed,
// as "path: 0777 -> 0700". It refuses (espresso.Invalid, with a message
// that says what to do) a directory or file that another user owns, or a
// database file that is not a regular file (a symbolic link could point
// anywhere), and changes nothing then. A directory that does not exist is
// not an error: Open creates it private. Open calls it; serve also calls
// it first, to log what it changed.
func Tighten(dir string) ([]string, error) {
	resolved, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: data directory")
	}
	type change struct {
		path string
		from fs.FileMode
		to   fs.FileMode
	}
	var changes []change
	check := func(path string, want fs.FileMode, isDir bool) error {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return espresso.Wrap(espresso.Internal, err, "sqlite: data directory")
		}
		switch {
		case isDir && !fi.IsDir():
			return espresso.E(espresso.Invalid, fmt.Sprintf("the data directory %s is not a directory", dir))
		case !isDir && !fi.Mode().IsRegular():
			return espresso.E(espresso.Invalid, fmt.Sprintf("%s is not a regular file (a link?): refusing to use it; "+
				"point --data at the directory that holds the database itself", path))
		}
		if uid, mine := ownedByMe(fi); !mine {
			return espresso.E(espresso.Invalid, fmt.Sprintf("%s belongs to another user (uid %d), not to the user espresso runs as (uid %d): "+
				"refusing to use it; chown it to that user, or run espresso as its owner", path, uid, os.Geteuid()))
		}
		if fi.Mode().Perm() != want {
			changes = append(changes, change{path, fi.Mode().Perm(), want})
		}
		return nil
	}
	if err := check(resolved, dirMode, true); err != nil {
		return nil, err
	}
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm"} {
		if err := check(filepath.Join(resolved, name), fileMode, false); err != nil {
			return nil, err
		}
	}
	var done []string
	for _, c := range changes {
		if err := os.Chmod(c.path, c.to); err != nil {
			return done, espresso.Wrap(espresso.Internal, err, "sqlite: making the data directory private")
		}
		done = append(done, fmt.Sprintf("%s: %04o -> %04o", c.path, c.from, c.to))
	}
	return done, nil
}
