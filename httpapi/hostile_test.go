package httpapi

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/espresso-auth/espresso/store/sqlite"
)

// TestHostileRequests_Get4xxInThePlatformFormatAndChangeNothing sends bad
// input of every kind and checks each answer is a 4xx {code, error, msg}, and
// that afterwards the key feed has not moved and the key still works.
func TestHostileRequests_Get4xxInThePlatformFormatAndChangeNothing(t *testing.T) {
	e := newTestEnv(t)
	_, key := e.newAccount()
	_, seqBefore, err := e.st.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(key)
	flipped[20] ^= 1
	testnet := "dk_test_" + key[8:]

	cases := []struct {
		name       string
		method     string
		path       string // sent raw on the wire
		headers    []string
		status     int
		code       int
		allowCheck string
	}{
		{"no key", "GET", "/accounts/new-api-key", nil, 401, 4010, ""},
		{"empty key", "GET", "/accounts/new-api-key", []string{"X-API-KEY: "}, 401, 4010, ""},
		{"60 KB key", "GET", "/accounts/new-api-key", []string{"X-API-KEY: " + strings.Repeat("A", 60<<10)}, 401, 4010, ""},
		{"non-UTF-8 key", "GET", "/accounts/new-api-key", []string{"X-API-KEY: dk_live_\xff\xfe\xfd" + key[11:]}, 401, 4010, ""},
		{"wrong checksum", "GET", "/accounts/new-api-key", []string{"X-API-KEY: " + string(flipped)}, 401, 4010, ""},
		{"testnet key on mainnet", "GET", "/accounts/api-key", []string{"X-API-KEY: " + testnet}, 401, 4010, ""},
		{"SQL-looking key", "GET", "/accounts/new-api-key", []string{"X-API-KEY: ' OR 1=1; DROP TABLE api_keys; --"}, 401, 4010, ""},
		{"documented example key", "GET", "/accounts/api-key", []string{"X-API-KEY: dk_live_abc123def456ghi789jkl012mno345"}, 401, 4010, ""},
		{"key in the query string", "GET", "/accounts/new-api-key?X-API-KEY=" + key + "&api_key=" + key, nil, 401, 4010, ""},
		{"key twice", "GET", "/accounts/new-api-key", []string{"X-API-KEY: " + key, "X-API-KEY: " + key}, 401, 4010, ""},
		{"key as bearer token", "GET", "/accounts/new-api-key", []string{"Authorization: Bearer " + key}, 401, 4010, ""},
		// HEAD is refused on new-api-key (it would rotate the key and
		// throw the new one away): no 405 there offers it.
		{"POST to a GET route", "POST", "/accounts/new-api-key", []string{"X-API-KEY: " + key}, 405, 4050, "GET"},
		{"HEAD would rotate blind", "HEAD", "/accounts/new-api-key", []string{"X-API-KEY: " + key}, 405, 4050, "GET"},
		{"OPTIONS on new-api-key", "OPTIONS", "/accounts/new-api-key", nil, 405, 4050, "GET"},
		{"made-up method", "BREW", "/accounts/new-api-key", []string{"X-API-KEY: " + key}, 405, 4050, "GET"},
		{"PUT to api-key", "PUT", "/accounts/api-key", []string{"X-API-KEY: " + key}, 405, 4050, "DELETE, GET, HEAD"},
		{"GET to sign-in", "GET", "/accounts/signin", nil, 405, 4050, "POST"},
		{"DELETE to spot-account", "DELETE", "/accounts/spot-account", []string{"X-API-KEY: " + key}, 405, 4050, "GET, HEAD, PATCH, POST, PUT"},
		{"PUT to operation-key", "PUT", "/accounts/operation-key", []string{"X-API-KEY: " + key}, 405, 4050, "GET, HEAD"},
		{"a key-only onboarding", "POST", "/accounts/spot-account", []string{"X-API-KEY: " + key}, 403, 4031, ""},
		{"an onboarding without credentials", "POST", "/accounts/spot-account", nil, 401, 4010, ""},
		{"trailing slash", "GET", "/accounts/new-api-key/", []string{"X-API-KEY: " + key}, 404, 4040, ""},
		{"upper case path", "GET", "/ACCOUNTS/NEW-API-KEY", []string{"X-API-KEY: " + key}, 404, 4040, ""},
		{"double slash", "GET", "//accounts/new-api-key", []string{"X-API-KEY: " + key}, 404, 4040, ""},
		{"dot segment", "GET", "/accounts/./new-api-key", []string{"X-API-KEY: " + key}, 404, 4040, ""},
		{"dot-dot segment", "GET", "/x/../accounts/new-api-key", []string{"X-API-KEY: " + key}, 404, 4040, ""},
		{"encoded NUL", "GET", "/accounts/new-api-key%00", []string{"X-API-KEY: " + key}, 404, 4040, ""},
		{"encoded slash", "GET", "/accounts%2Fnew-api-key", []string{"X-API-KEY: " + key}, 404, 4040, ""},
		{"key in the path", "GET", "/" + key, nil, 404, 4040, ""},
		{"unknown route", "GET", "/admin", nil, 404, 4040, ""},
		{"8 KB path", "GET", "/" + strings.Repeat("a", 8<<10), nil, 404, 4040, ""},
		{"asterisk", "OPTIONS", "*", nil, 404, 4040, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := rawRequest(t, e.srv.Listener.Addr().String(), c.method, c.path, c.headers)
			if status != c.status {
				t.Fatalf("status %d, want %d (body %q)", status, c.status, body)
			}
			if c.allowCheck != "" && hdr.Get("Allow") != c.allowCheck {
				t.Errorf("Allow %q, want %q", hdr.Get("Allow"), c.allowCheck)
			}
			if c.method == "HEAD" {
				return // no body by definition
			}
			code, _ := errorBody(t, body)
			if code != c.code {
				t.Errorf("code %d, want %d", code, c.code)
			}
			if strings.Contains(string(body), key) {
				t.Error("the answer echoes the key")
			}
		})
	}

	if _, seq, _ := e.st.Snapshot(context.Background()); seq != seqBefore {
		t.Errorf("the key feed moved from %d to %d: bad input changed data", seqBefore, seq)
	}
	if resp, _ := e.do("GET", "/accounts/api-key", keyHeader(key)); resp.StatusCode != 200 {
		t.Errorf("the key stopped working after the hostile requests: %d", resp.StatusCode)
	}
	if strings.Contains(e.logs.String(), key) {
		t.Error("the log contains the key")
	}
}

// rawRequest writes a request byte for byte, so that paths and header
// values Go's client would refuse or clean up reach the server as sent.
func rawRequest(t testing.TB, addr, method, target string, headers []string) (int, http.Header, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: espresso\r\nConnection: close\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// TestNewAPIKey_StorageFailureIs5000WithoutDetailAndKeepsTheOldKey makes
// the real database refuse the write (a trigger, the way a full disk or a
// broken constraint would) and checks the platform's 500 answer.
func TestNewAPIKey_StorageFailureIs5000WithoutDetailAndKeepsTheOldKey(t *testing.T) {
	e := newTestEnv(t)
	_, key := e.newAccount()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, sqlite.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER fail_inserts BEFORE INSERT ON api_keys BEGIN SELECT RAISE(ABORT, 'injected failure: disk on fire'); END`); err != nil {
		t.Fatal(err)
	}

	resp, body := e.do("GET", "/accounts/new-api-key", keyHeader(key))
	if resp.StatusCode != 500 || strings.TrimSpace(string(body)) != `{"code":5000,"error":"Internal Server Error","msg":"Internal Server Error"}` {
		t.Fatalf("got %d %s, want the platform's bare 500", resp.StatusCode, body)
	}
	if !strings.Contains(e.logs.String(), "disk on fire") {
		t.Error("the failure's detail was not logged for the operator")
	}
	if resp, _ := e.do("GET", "/accounts/api-key", keyHeader(key)); resp.StatusCode != 200 {
		t.Errorf("a failed rotation retired the old key: %d", resp.StatusCode)
	}
	if _, err := db.Exec(`DROP TRIGGER fail_inserts`); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do("GET", "/accounts/new-api-key", keyHeader(key)); resp.StatusCode != 200 {
		t.Errorf("rotation after the failure cleared: %d", resp.StatusCode)
	}
}
