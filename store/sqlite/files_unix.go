//go:build unix

package sqlite

import (
	"io/fs"
	"os"
	"syscall"
)

// ownedByMe reports the owner of fi and whether it is this process's
// effective user.
func ownedByMe(fi fs.FileInfo) (uid int, mine bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, true
	}
	return int(st.Uid), int(st.Uid) == os.Geteuid()
}
