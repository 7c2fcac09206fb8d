package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a throwaway PostgreSQL cluster of one test: its own data
// directory and server process, on 127.0.0.1, trust authentication, fsync
// off. It is not safe for concurrent use.
type Cluster struct {
	bin     string // directory of initdb and postgres
	dir     string // holds data/, the server's log and its Unix socket
	port    int
	uid     int // the server runs as this user and group when >= 0
	gid     int
	cmd     *exec.Cmd     // the running server, or nil
	exited  chan struct{} // closed when cmd has exited
	waitErr error         // cmd.Wait's result, once exited is closed
}

// startTimeout bounds how long Start waits for the server to accept
// connections, and Stop for it to exit.
const startTimeout = 60 * time.Second

// StartCluster creates a cluster in a new temporary directory with initdb,
// starts it on a free port, waits until it accepts connections and returns
// it; the test's cleanup stops it and removes the directory. It finds the
// server's programs with pg_config --bindir, else in the newest
// /usr/lib/postgresql/*/bin, else on PATH. Running as root, it runs them as
// the postgres user, since PostgreSQL refuses to run as root. When the
// programs (or that user) are missing it skips the test, unless EnvURL is set
// (CI), in which case it fails it.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		skipOrFail(t, "pgtest: cannot start a PostgreSQL cluster: %v", err)
	}
	c := &Cluster{bin: bin, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skipOrFail(t, "pgtest: running as root, and there is no postgres user to run PostgreSQL as: %v", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
	}
	c.dir, err = os.MkdirTemp("", "espresso-pg-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		c.stop()
		_ = os.RemoveAll(c.dir)
	})
	if c.uid >= 0 {
		if err := os.Chown(c.dir, c.uid, c.gid); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	initdb := c.command("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	// A port that was free a moment ago may be taken by the time the
	// server binds it: try a few.
	for attempt := 1; ; attempt++ {
		c.port, err = freePort()
		if err != nil {
			t.Fatalf("pgtest: finding a free port: %v", err)
		}
		err = c.start()
		if err == nil {
			return c
		}
		if attempt == 3 {
			t.Fatalf("pgtest: starting PostgreSQL: %v\n%s", err, c.logTail())
		}
	}
}

// URL returns the URL of the cluster's postgres database.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Stop shuts the server down (fast shutdown: open sessions are ended, as an
// administrator's restart would) and waits for it to exit.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if c.cmd == nil {
		t.Fatal("pgtest: Stop: the cluster is not running")
	}
	if err := c.stop(); err != nil {
		t.Fatalf("pgtest: stopping PostgreSQL: %v\n%s", err, c.logTail())
	}
}

// Start starts the stopped server again, on the same port with the same
// data, and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if c.cmd != nil {
		t.Fatal("pgtest: Start: the cluster is running")
	}
	if err := c.start(); err != nil {
		t.Fatalf("pgtest: starting PostgreSQL: %v\n%s", err, c.logTail())
	}
}

func (c *Cluster) data() string    { return filepath.Join(c.dir, "data") }
func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

// start starts the server and polls until it accepts connections, it exits
// or startTimeout passes.
func (c *Cluster) start() error {
	logf, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer func() { _ = logf.Close() }() // the server has its own copy
	cmd := c.command("postgres", "-D", c.data(), "-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+c.dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) {
		c.waitErr = cmd.Wait()
		close(exited)
	}(c.exited)

	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.URL())
		if err == nil {
			err = conn.Ping(ctx)
			_ = conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			c.cmd = nil
			return fmt.Errorf("the server exited: %v", c.waitErr)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			_ = c.stop()
			return fmt.Errorf("the server did not accept connections within %v: %v", startTimeout, err)
		}
	}
}

// stop shuts the running server down, if any, killing it if it does not exit
// within startTimeout.
func (c *Cluster) stop() error {
	if c.cmd == nil {
		return nil
	}
	defer func() { c.cmd = nil }()
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-c.exited:
		return nil
	case <-time.After(startTimeout):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("the server did not shut down within %v; killed it", startTimeout)
	}
}

// command returns a command running the named server program, as the
// cluster's user when one is set, in the cluster's directory.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	if c.uid >= 0 {
		runAs(cmd, c.uid, c.gid)
	}
	return cmd
}

// logTail returns the end of the server's log, for failure messages.
func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.logPath())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// binDir finds the directory of initdb and postgres.
func binDir() (string, error) {
	has := func(dir string) bool {
		for _, p := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, p)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); has(d) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", errors.New("initdb and postgres not found (pg_config --bindir, /usr/lib/postgresql/*/bin, PATH)")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// skipOrFail skips the test, or fails it when EnvURL is set (CI).
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		t.Fatalf(format+" (failing, not skipping, because %s is set)", append(args, EnvURL)...)
	}
	t.Skipf(format, args...)
}
