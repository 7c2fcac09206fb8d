package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/wallet"
)

// The platform's error answers, byte for byte (writeJSON adds a newline,
// which the comparisons trim).
var (
	unauthorizedBody = []byte(`{"code":4010,"error":"Unauthorized access","msg":"Unauthorized access"}`)
	unavailableBody  = []byte(`{"code":5001,"error":"System resources temporaily unavailable","msg":"System resources temporaily unavailable"}`)
)

// answerWithin is how soon a request must be answered while PostgreSQL is
// down: a functional bound from the issue (a client gets a 503, not a hang).
const answerWithin = 5 * time.Second

// revocationBound is how soon a rotation or revocation answered by one node
// must be refused by every other node: the documented safety net is the
// 1 s feed poll (a lost notification); anything past 2 s is a bug.
const revocationBound = 2 * time.Second

// apiClient carries the end-to-end tests' requests: it checks each request
// and answer against the OpenAPI document (validatingTransport), keeps
// enough idle connections for 64 concurrent callers, and bounds every
// request so that a hung server fails the test instead of hanging it.
var apiClient = newValidatingClient(newCoverage())

// send sends a request with an optional X-API-KEY; safe to call from any
// goroutine (it reports errors instead of failing the test).
func send(method, url, key string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, bytes.TrimSpace(body), err
}

// call is send for the test's goroutine: it fails the test on a transport
// error.
func call(t testing.TB, method, url, key string) (int, []byte) {
	t.Helper()
	status, body, err := send(method, url, key)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return status, body
}

// scanLog is a server's log as the tests keep it: each line is checked for
// key-shaped strings as it is written, and only the last tailBytes are kept
// (a tight polling loop that runs for seconds logs hundreds of megabytes,
// and growing a buffer that size stalls the whole test process).
type scanLog struct {
	mu      sync.Mutex
	partial []byte   // the start of a line not yet ended
	lines   int      // lines written
	keys    []string // key-shaped strings found in them
	tail    []byte
	loaded  bool // the server logged that its key replica is loaded
}

const tailBytes = 16 << 10

func (l *scanLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	if i := bytes.LastIndexByte(l.partial, '\n'); i >= 0 {
		done := l.partial[:i+1]
		l.lines += bytes.Count(done, []byte{'\n'})
		for _, m := range keyShaped.FindAll(done, -1) {
			l.keys = append(l.keys, string(m))
		}
		l.loaded = l.loaded || bytes.Contains(done, []byte(`"msg":"key replica loaded"`))
		l.partial = append(l.partial[:0], l.partial[i+1:]...)
	}
	l.tail = append(l.tail, p...)
	if len(l.tail) > 2*tailBytes {
		l.tail = append(l.tail[:0], l.tail[len(l.tail)-tailBytes:]...)
	}
	return len(p), nil
}

// found returns the key-shaped strings written so far (an unfinished last
// line included) and the number of lines.
func (l *scanLog) found() ([]string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := slices.Clone(l.keys)
	for _, m := range keyShaped.FindAll(l.partial, -1) {
		keys = append(keys, string(m))
	}
	return keys, l.lines
}

// replicaLoaded reports whether the server has logged that its key replica
// is loaded.
func (l *scanLog) replicaLoaded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loaded
}

// String returns the last lines written (at most tailBytes).
func (l *scanLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tail[max(0, len(l.tail)-tailBytes):]
	if i := bytes.IndexByte(t, '\n'); i >= 0 && len(t) == tailBytes {
		t = t[i+1:]
	}
	return string(t)
}

// pgNodes starts count in-process servers sharing the PostgreSQL database
// at dbURL.
func pgNodes(t testing.TB, dbURL string, count int, args ...string) []*node {
	t.Helper()
	nodes := make([]*node, count)
	for i := range nodes {
		nodes[i] = serveNode(t, nil, append([]string{"--database-url", dbURL}, args...)...)
	}
	return nodes
}

// noKeysLogged fails the test if a node's log held a key in plaintext.
func noKeysLogged(t testing.TB, issued []string, nodes ...*node) {
	t.Helper()
	for i, n := range nodes {
		keys, lines := n.logs.found()
		reportKeys(t, issued, keys, fmt.Sprintf("node %d's log (%d lines)", i, lines))
	}
}

// newPGAccount creates an account and its first key with the operator CLI,
// through ESPRESSO_DATABASE_URL.
func newPGAccount(t testing.TB, dbURL string) issuedJSON {
	t.Helper()
	return mustIssue(t, map[string]string{"ESPRESSO_DATABASE_URL": dbURL},
		"account", "create", "--wallet", newWallet(t, wallet.Mainnet))
}

// mustAccept fails the test unless base accepts key at once.
func mustAccept(t testing.TB, base, key, what string) {
	t.Helper()
	if status, body := call(t, "GET", base+"/accounts/api-key", key); status != 200 {
		t.Fatalf("%s: GET /accounts/api-key on %s: %d %s, want 200", what, base, status, body)
	}
}

// mustRefuse fails the test unless base refuses key at once with 4010.
func mustRefuse(t testing.TB, base, key, what string) {
	t.Helper()
	if status, body := call(t, "GET", base+"/accounts/api-key", key); status != 401 || !bytes.Equal(body, unauthorizedBody) {
		t.Fatalf("%s: GET /accounts/api-key on %s: %d %s, want 401 %s", what, base, status, body, unauthorizedBody)
	}
}

// rotateAt rotates key on base and returns the new key and the instant the
// answer had been read.
func rotateAt(t testing.TB, base, key string) (string, time.Time) {
	t.Helper()
	status, body := call(t, "GET", base+"/accounts/new-api-key", key)
	answered := time.Now()
	if status != 200 {
		t.Fatalf("new-api-key on %s: %d %s", base, status, body)
	}
	return newKeyFrom(t, body), answered
}

// newKeyFrom decodes a new-api-key answer: exactly the seed's two fields.
func newKeyFrom(t testing.TB, body []byte) string {
	t.Helper()
	var out struct {
		APIKey    string `json:"api_key"`
		CreatedAt string `json:"created_at"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || out.APIKey == "" {
		t.Fatalf("new-api-key answered %s: %v", body, err)
	}
	if _, err := time.Parse(time.RFC3339, out.CreatedAt); err != nil {
		t.Fatalf("new-api-key created_at %q: %v", out.CreatedAt, err)
	}
	return out.APIKey
}

// revokeAt revokes key on base with DELETE /accounts/api-key and returns the
// instant the answer had been read.
func revokeAt(t testing.TB, base, key string) time.Time {
	t.Helper()
	status, body := call(t, "DELETE", base+"/accounts/api-key", key)
	answered := time.Now()
	if status != 200 {
		t.Fatalf("DELETE /accounts/api-key on %s: %d %s", base, status, body)
	}
	var out struct {
		MaskedKey string `json:"masked_key"`
		RevokedAt string `json:"revoked_at"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.MaskedKey == "" || out.RevokedAt == "" {
		t.Fatalf("DELETE /accounts/api-key answered %s: %v", body, err)
	}
	if _, err := time.Parse(time.RFC3339, out.RevokedAt); err != nil {
		t.Fatalf("DELETE /accounts/api-key revoked_at %q: %v", out.RevokedAt, err)
	}
	return answered
}

// refusedAfter asks base about key in a tight loop until it answers 401
// 4010, and returns how long after since that first 401 arrived. Anything
// but 200 or 401 4010 fails the test, and so does a key still accepted
// revocationBound after since.
func refusedAfter(t testing.TB, base, key string, since time.Time, what string) time.Duration {
	t.Helper()
	for {
		status, body := call(t, "GET", base+"/accounts/api-key", key)
		now := time.Now()
		switch {
		case status == 401 && bytes.Equal(body, unauthorizedBody):
			return now.Sub(since)
		case status != 200:
			t.Fatalf("%s: GET /accounts/api-key on %s: %d %s, want 200 or 401 4010", what, base, status, body)
		case now.Sub(since) > revocationBound:
			t.Fatalf("%s: %s still accepts the key %v after the answer that revoked it (bound %v)",
				what, base, now.Sub(since).Round(time.Millisecond), revocationBound)
		}
	}
}

// keyShaped matches a whole API key of either network (the prefix and 36
// base62 characters; a masked key, with "…", does not match) or a whole
// sign-in token (a JWT: three base64url parts, the first two JSON objects).
var keyShaped = regexp.MustCompile(`dk_(?:live|test)_[0-9A-Za-z]{36}|eyJ[0-9A-Za-z_-]+\.eyJ[0-9A-Za-z_-]+\.[0-9A-Za-z_-]+`)

// reportKeys fails the test for each key-shaped string found in where: one
// of issued, or anything else shaped like a key.
func reportKeys(t testing.TB, issued, found []string, where string) {
	t.Helper()
	for _, m := range found {
		if slices.Contains(issued, m) {
			t.Errorf("%s holds an issued credential in plaintext (%s…)", where, m[:12])
		} else {
			t.Errorf("%s holds something shaped like a key or token (%s…)", where, m[:12])
		}
	}
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

// pgListeners counts the sessions LISTENing on the key channel of the schema
// that dbURL's search_path names, as pg_stat_activity shows them (a
// listening session is idle and its last query is the LISTEN).
func pgListeners(t testing.TB, dbURL string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connecting to count listeners: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE query = 'LISTEN "espresso_keys_' || left(md5(current_schema()), 16) || '"'`).Scan(&n)
	if err != nil {
		t.Fatalf("counting listeners: %v", err)
	}
	return n
}

// timedDo is mustSend that also returns how long the answer took.
func timedDo(t testing.TB, method, url, key string) (int, []byte, time.Duration) {
	t.Helper()
	began := time.Now()
	status, body := call(t, method, url, key)
	return status, body, time.Since(began)
}

// wantAnswer fails the test unless a request got status and body within
// answerWithin.
func wantAnswer(t testing.TB, what string, status int, body []byte, took time.Duration, wantStatus int, wantBody []byte) {
	t.Helper()
	if status != wantStatus || (wantBody != nil && !bytes.Equal(body, wantBody)) {
		t.Errorf("%s: %d %s, want %d %s", what, status, body, wantStatus, wantBody)
	}
	if took >= answerWithin {
		t.Errorf("%s took %v, want under %v", what, took, answerWithin)
	}
}

// pollUntil calls check until it reports done, at most within after since,
// pausing 10 ms between calls, and returns how long after since it was done.
// check describes what it saw, for the failure message.
func pollUntil(t testing.TB, since time.Time, within time.Duration, what string, check func() (bool, string)) time.Duration {
	t.Helper()
	for {
		done, saw := check()
		if done {
			return time.Since(since)
		}
		if time.Since(since) > within {
			t.Fatalf("%s: not within %v; last saw %s", what, within, saw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// statusIs is a check for pollUntil: a request on url answers status.
func statusIs(t testing.TB, method, url, key string, status int, body []byte) func() (bool, string) {
	return func() (bool, string) {
		s, b := call(t, method, url, key)
		return s == status && (body == nil || bytes.Equal(b, body)), fmt.Sprintf("%d %s", s, b)
	}
}
