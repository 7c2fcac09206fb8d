package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
)

// The README (and docs/clients.md, for the bots' walk-through, and
// docs/design.md, for the sign-in message) marks the blocks this test runs with an HTML comment on the line before their
// opening fence:
//
//	<!-- readme-test: NAME -->
//	```sh
//	…
//	```
//
// In a walk-through, every line of output a command prints is shown, in
// order, by a comment line starting with "# {" right after the command;
// the test compares them (see matchJSON for how "…" and times match).

// readmePaths are the documents whose marked blocks the test runs.
var readmePaths = []string{"../../README.md", "../../docs/clients.md", "../../docs/design.md"}

var readmeMarker = regexp.MustCompile(`(?m)^<!-- readme-test: ([a-z -]+) -->\n` + "```" + `[a-z]*\n`)

// readmeBlocks returns the marked blocks of readmePaths by name.
func readmeBlocks(t *testing.T) map[string]string {
	t.Helper()
	blocks := map[string]string{}
	for _, path := range readmePaths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		for _, m := range readmeMarker.FindAllStringSubmatchIndex(text, -1) {
			name, body := text[m[2]:m[3]], text[m[1]:]
			end := strings.Index(body, "```")
			if end < 0 {
				t.Fatalf("%s: the block %q has no closing fence", path, name)
			}
			if _, dup := blocks[name]; dup {
				t.Fatalf("%s: a second block is marked %q", path, name)
			}
			blocks[name] = body[:end]
		}
	}
	return blocks
}

// needTools skips the test unless every tool is installed. .ci/run installs
// them and fails on any skipped test, so CI always runs it.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: apt-get install curl jq (CI installs them, so there this test never skips)", tool)
		}
	}
}

// TestReadme_WalkThroughsRunAsWrittenAndPrintWhatTheySay runs the README's
// walk-throughs as a reader would, from an empty directory: the server
// started as the quick start says (on a free port instead of 8080), then
// each walk-through in bash -euo pipefail, with the built binary for
// `go run ./cmd/espresso`. Every command must succeed and print what the
// README says it prints: the same fields in the same order, the same codes,
// messages and flags (the old key refused, the revoked key refused, a first
// sign-in), with "…" standing for values that differ from run to run. The
// sign-in message must be the README's example but for its address, nonce
// and times; every file the walk-throughs leave must be git-ignored and
// removed by the README's clean-up; and the server's log must hold none of
// the keys and tokens the walk-throughs saw.
func TestReadme_WalkThroughsRunAsWrittenAndPrintWhatTheySay(t *testing.T) {
	t.Parallel()
	needTools(t, "bash", "curl", "jq")
	blocks := readmeBlocks(t)
	for _, name := range []string{"quick start", "walk-through", "sign-in", "sign-in message", "bots", "clean up"} {
		if _, ok := blocks[name]; !ok {
			t.Fatalf("README: no block marked <!-- readme-test: %s -->", name)
		}
	}
	bin := binary(t)
	asWritten := func(s string) string { return strings.ReplaceAll(s, "go run ./cmd/espresso", shellQuote(bin)) }

	// The server, started by the quick start's first command.
	serveLine, _, _ := strings.Cut(strings.SplitN(blocks["quick start"], "\n", 2)[0], "#")
	if strings.TrimSpace(serveLine) != "go run ./cmd/espresso serve" {
		t.Fatalf("README: the quick start starts with %q, not go run ./cmd/espresso serve", serveLine)
	}
	if !strings.Contains(blocks["quick start"], "\ngo test ./...") {
		t.Error("README: the quick start does not run go test ./...")
	}
	dir, addr := t.TempDir(), freeAddr(t)
	srv := startServerIn(t, dir, append(strings.Fields(asWritten(serveLine))[1:], "--addr", addr)...)

	var seen []string // every key and token printed
	for _, name := range []string{"walk-through", "sign-in", "bots"} {
		block := blocks[name]
		script := strings.ReplaceAll(asWritten(block), "127.0.0.1:8080", addr)
		if strings.Contains(script, "go run") || strings.Contains(script, "localhost") {
			t.Fatalf("README %s: a command the test cannot run as written (go run of something else, or localhost)", name)
		}
		seen = append(seen, checkOutput(t, name, block, runScript(t, dir, name, script))...)
	}

	// The message the wallet signed, against the README's example.
	msg, err := os.ReadFile(filepath.Join(dir, "message.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(normalizeMessage(strings.ReplaceAll(string(msg), addr, "127.0.0.1:8080")), "\n")
	want := strings.Split(normalizeMessage(strings.TrimSuffix(blocks["sign-in message"], "\n")), "\n")
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) || got[i] != want[i] {
			t.Errorf("README: the sign-in message differs from what the server wrote (address, nonce and times aside) from line %d:\n README:\n%s\n server:\n%s",
				i+1, strings.Join(want[i:], "\n"), strings.Join(got[min(i, len(got)):], "\n"))
			break
		}
	}

	// What the walk-throughs wrote is git-ignored, and the clean-up
	// removes all of it.
	ignored := gitIgnoredAtRoot(t)
	left := filesIn(t, dir)
	for _, f := range left {
		if !ignored[f] {
			t.Errorf("README: the walk-throughs leave %s in the repository's root, and .gitignore does not list /%s", f, f)
		}
	}
	runScript(t, dir, "clean up", blocks["clean up"])
	if left := filesIn(t, dir); !slices.Equal(left, []string{"espresso-data"}) {
		t.Errorf("README: after the clean-up the directory holds %v, want only espresso-data", left)
	}

	if err := srv.stop(); err != nil {
		t.Errorf("the server did not stop cleanly on SIGTERM: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "espresso-data", "espresso.db")); err != nil {
		t.Errorf("the quick start's server kept no data in ./espresso-data: %v", err)
	}
	found, lines := srv.logs.found()
	reportKeys(t, seen, found, fmt.Sprintf("the server's log (%d lines)", lines))
}

// checkOutput compares what a walk-through printed with the "# {…}" lines
// of its block, one for one, and returns the keys and tokens printed.
func checkOutput(t *testing.T, name, block, stdout string) (secrets []string) {
	t.Helper()
	var want []string
	for line := range strings.SplitSeq(block, "\n") {
		if strings.HasPrefix(line, "# {") {
			want = append(want, strings.TrimPrefix(line, "# "))
		}
	}
	got := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(got) != len(want) {
		t.Errorf("README %s: the commands printed %d lines, the README shows %d:\n%s", name, len(got), len(want), masked(stdout))
		return keyShaped.FindAllString(stdout, -1)
	}
	for i := range want {
		values, err := matchJSON(want[i], got[i])
		if err != nil {
			t.Errorf("README %s, output %d: %v\n README:  %s\n printed: %s", name, i+1, err, want[i], masked(got[i]))
		}
		// GET /accounts/api-key's api_key is the masked key, by design.
		if key, ok := values["api_key"].(string); ok && values["masked_key"] == nil {
			if _, err := apikey.Parse(key, apikey.Live); err != nil {
				t.Errorf("README %s, output %d: api_key is not a mainnet key: %v", name, i+1, err)
			}
		}
	}
	return keyShaped.FindAllString(stdout, -1)
}

// runScript runs a README block with bash -euo pipefail in dir, with
// nothing from this process's environment but PATH, and returns what it
// printed. It fails the test if a command fails or writes to stderr.
func runScript(t *testing.T, dir, name, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("README %s: bash: %v\nstderr:\n%s\nstdout:\n%s", name, err, masked(stderr.String()), masked(stdout.String()))
	}
	return stdout.String()
}

// filesIn returns the names in dir, sorted.
func filesIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// gitIgnoredAtRoot returns the names .gitignore ignores in the repository's
// root: its patterns "/name" and "/name/".
func gitIgnoredAtRoot(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("../../.gitignore")
	if err != nil {
		t.Fatal(err)
	}
	ignored := map[string]bool{}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "/"); ok {
			ignored[strings.TrimSuffix(name, "/")] = true
		}
	}
	return ignored
}

// dirServer is the real binary serving from a working directory of its own.
type dirServer struct {
	logs *scanLog
	stop func() error // SIGTERM, then the process's exit error
}

// startServerIn runs the binary with args in dir, with nothing from this
// process's environment but PATH, and waits until it is healthy on --addr.
func startServerIn(t *testing.T, dir string, args ...string) *dirServer {
	t.Helper()
	addr := args[len(args)-1]
	logs := &scanLog{}
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); done <- exitErr; close(exited) }()
	s := &dirServer{logs: logs, stop: func() error {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			return err
		}
		<-exited
		return exitErr
	}}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("the server's log, its end:\n%s", logs)
		}
	})
	waitHealthy(t, "http://"+addr, done)
	return s
}

// matchJSON compares a line a command printed with the README's line for
// it: both one JSON object with the same fields in the same order, and
// equal values, except that a string with "…" in the README stands for any
// non-empty string, and a time (RFC 3339, UTC, whole seconds) for any such
// time. It returns the printed object's values.
func matchJSON(readme, printed string) (map[string]any, error) {
	wantKeys, want, err := orderedObject(readme)
	if err != nil {
		return nil, fmt.Errorf("the README's line is not a JSON object: %v", err)
	}
	gotKeys, got, err := orderedObject(printed)
	if err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if !slices.Equal(wantKeys, gotKeys) {
		return got, fmt.Errorf("fields %v, the README shows %v", gotKeys, wantKeys)
	}
	for _, k := range wantKeys {
		w, g := want[k], got[k]
		ws, wIsString := w.(string)
		gs, gIsString := g.(string)
		switch {
		case wIsString && strings.Contains(ws, "…"):
			if !gIsString || gs == "" {
				return got, fmt.Errorf("%s: %v, want a non-empty string", k, g)
			}
		case wIsString && isTimestamp(ws):
			if !gIsString || !isTimestamp(gs) {
				return got, fmt.Errorf("%s: %v, want a time like %s", k, g, ws)
			}
		case !reflect.DeepEqual(w, g):
			return got, fmt.Errorf("%s: %v, the README shows %v", k, g, w)
		}
	}
	return got, nil
}

// orderedObject decodes one JSON object, returning its keys in order.
func orderedObject(s string) ([]string, map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("does not start with {")
	}
	var keys []string
	values := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
		values[k] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, nil, fmt.Errorf("does not end with }")
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("more than one value")
	}
	return keys, values, nil
}

func isTimestamp(s string) bool {
	_, err := time.Parse("2006-01-02T15:04:05Z", s)
	return err == nil
}

var (
	messageAddress = regexp.MustCompile(`\baddr(_test)?1[02-9ac-hj-np-z]+\b`)
	messageNonce   = regexp.MustCompile(`\b[0-9a-f]{80}\b`)
	messageTime    = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b`)
)

// normalizeMessage replaces what differs between two sign-in messages of
// one server: the address, the nonce and the times.
func normalizeMessage(s string) string {
	s = messageAddress.ReplaceAllString(s, "<address>")
	s = messageNonce.ReplaceAllString(s, "<nonce>")
	return messageTime.ReplaceAllString(s, "<time>")
}

// masked shortens every key and token in s, for failure messages.
func masked(s string) string {
	return keyShaped.ReplaceAllStringFunc(s, func(m string) string { return m[:12] + "…" })
}

// shellQuote quotes s for bash.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
