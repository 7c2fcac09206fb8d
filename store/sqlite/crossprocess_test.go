package sqlite_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/sqlite"
)

// The tests below start copies of the test binary as separate processes, as
// the server and the operator's CLI are, on one database file. A child opens
// the store, prints "ready", waits for a line on stdin (so that all children
// start together), runs its part, prints its results and exits.

const helperEnv = "ESPRESSO_SQLITE_TEST_HELPER"

// TestMain runs the test binary as a child process's body when the
// children's environment variable is set, and as the tests otherwise.
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		if err := helper(mode); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func helper(mode string) error {
	ctx := context.Background()
	// A long busy timeout: these tests are about correctness, on a machine
	// that may be busy.
	s, err := sqlite.Open(ctx, os.Getenv("DIR"), sqlite.Options{BusyTimeout: time.Minute})
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	var current apikey.Hash
	if _, err := hex.Decode(current[:], []byte(os.Getenv("CURRENT"))); err != nil {
		return err
	}
	n, err := strconv.Atoi(os.Getenv("N"))
	if err != nil {
		return err
	}
	account := os.Getenv("ACCOUNT")
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}

	newKey := func() (store.NewKey, error) {
		k, err := apikey.New(apikey.Live)
		return store.NewKey{Hash: k.Hash(), Masked: k.Mask()}, err
	}
	switch mode {
	case "race": // n concurrent rotations presenting current
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			out []string
			bad error
		)
		for range n {
			wg.Go(func() {
				next, err := newKey()
				if err == nil {
					_, _, err = s.RotateKey(ctx, account, &current, next)
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					out = append(out, "won "+hex.EncodeToString(next.Hash[:]))
				case !errors.Is(err, store.ErrKeyNotLive):
					bad = err
				}
			})
		}
		wg.Wait()
		if bad != nil {
			return bad
		}
		fmt.Println(strings.Join(out, "\n"))
	case "rotate": // n rotations in a row, printing the seqs recorded
		for range n {
			next, err := newKey()
			if err != nil {
				return err
			}
			_, events, err := s.RotateKey(ctx, account, &current, next)
			if err != nil {
				return err
			}
			current = next.Hash
			for _, e := range events {
				fmt.Println("seq", e.Seq)
			}
		}
	case "migrate":
		applied, err := s.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Println(strings.Join(applied, "\n"))
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	return nil
}

// child is a running helper process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// startChild starts a helper in mode and waits until it is ready.
func startChild(t testing.TB, mode, dir, account string, current apikey.Hash, n int) *child {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "DIR="+dir, "ACCOUNT="+account,
		"CURRENT="+hex.EncodeToString(current[:]), "N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	if !c.out.Scan() || c.out.Text() != "ready" {
		t.Fatalf("the %s child did not get ready: %q", mode, c.out.Text())
	}
	return c
}

func (c *child) release(t testing.TB) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
}

// finish returns the child's output lines once it exited successfully.
func (c *child) finish(t testing.TB) []string {
	t.Helper()
	var lines []string
	for c.out.Scan() {
		if l := c.out.Text(); l != "" {
			lines = append(lines, l)
		}
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child: %v; output %q", err, lines)
	}
	return lines
}

func TestCrossProcess_OfConcurrentRotationsPresentingOneKeyExactlyOneWins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, dir, sqlite.Options{})
	_, first := newKey(t)
	acct, _, err := s.CreateAccount(t.Context(), "addr_test1qprocesses", &first)
	if err != nil {
		t.Fatal(err)
	}
	children := []*child{
		startChild(t, "race", dir, acct.ID, first.Hash, 16),
		startChild(t, "race", dir, acct.ID, first.Hash, 16),
	}
	for _, c := range children {
		c.release(t)
	}
	var wins []string
	for _, c := range children {
		wins = append(wins, c.finish(t)...)
	}
	if len(wins) != 1 {
		t.Fatalf("%d rotations won across the processes, want 1", len(wins))
	}
	live, err := s.LiveKey(t.Context(), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if "won "+hex.EncodeToString(live.Hash[:]) != wins[0] {
		t.Error("the live key is not the winner's")
	}
	if keys, _, err := s.Snapshot(t.Context()); err != nil || len(keys) != 1 {
		t.Errorf("Snapshot = %d keys, %v; want 1", len(keys), err)
	}
}

func TestCrossProcess_AReaderNeverSeesALaterCommitGetASmallerSeq(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, dir, sqlite.Options{})
	const rounds = 25
	var children []*child
	for i := range 3 {
		_, k := newKey(t)
		acct, _, err := s.CreateAccount(t.Context(), fmt.Sprintf("addr_test1qproc%d", i), &k)
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, startChild(t, "rotate", dir, acct.ID, k.Hash, rounds))
	}
	_, base, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	// Poll the feed in this process while the children write.
	var (
		polled []int64
		pollWG sync.WaitGroup
		done   = make(chan struct{})
	)
	pollWG.Go(func() {
		last := base
		poll := func() int {
			page, err := s.Events(t.Context(), last, 5)
			if err != nil {
				t.Errorf("Events: %v", err)
				return 0
			}
			for _, e := range page {
				if e.Seq <= last {
					t.Errorf("Events(%d) returned seq %d", last, e.Seq)
				}
				last = e.Seq
				polled = append(polled, e.Seq)
			}
			return len(page)
		}
		for {
			select {
			case <-done:
				for poll() > 0 {
				}
				return
			default:
				poll()
			}
		}
	})
	for _, c := range children {
		c.release(t)
	}
	written := map[int64]bool{}
	for _, c := range children {
		var prev int64
		for _, l := range c.finish(t) {
			seq, err := strconv.ParseInt(strings.TrimPrefix(l, "seq "), 10, 64)
			if err != nil {
				t.Fatalf("child output %q", l)
			}
			if seq <= prev {
				t.Errorf("a child's seqs go from %d to %d", prev, seq)
			}
			prev, written[seq] = seq, true
		}
	}
	close(done)
	pollWG.Wait()

	feed, err := s.Events(t.Context(), base, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(feed) != 2*rounds*len(children) || len(written) != len(feed) {
		t.Fatalf("the feed holds %d events, the children wrote %d, want %d", len(feed), len(written), 2*rounds*len(children))
	}
	if len(polled) != len(feed) {
		t.Fatalf("the poller saw %d events, the feed holds %d", len(polled), len(feed))
	}
	for i, e := range feed {
		if polled[i] != e.Seq || !written[e.Seq] {
			t.Fatalf("event %d: polled seq %d, feed seq %d (written by a child: %v)", i, polled[i], e.Seq, written[e.Seq])
		}
	}
}

func TestCrossProcess_TwoProcessesMigratingAtOnceApplyEachMigrationOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	children := []*child{
		startChild(t, "migrate", dir, "", apikey.Hash{}, 0),
		startChild(t, "migrate", dir, "", apikey.Hash{}, 0),
	}
	for _, c := range children {
		c.release(t)
	}
	var applied []string
	for _, c := range children {
		applied = append(applied, c.finish(t)...)
	}
	ms, err := store.Migrations(os.DirFS("."), "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range ms {
		want = append(want, m.Name)
	}
	slices.Sort(applied)
	if !slices.Equal(applied, want) {
		t.Errorf("the processes applied %q between them, want each of %q once", applied, want)
	}
	s := open(t, dir, sqlite.Options{})
	if again, err := s.Migrate(t.Context()); err != nil || len(again) != 0 {
		t.Errorf("Migrate afterwards = %q, %v; want nothing", again, err)
	}
}
