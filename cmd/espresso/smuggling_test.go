package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConnection_ClosesAfterARequestWithBothContentLengthAndTransferEncoding
// speaks raw HTTP/1.1 to the server: a request with both Content-Length
// and Transfer-Encoding is answered, with Connection: close, and then the
// connection is closed (RFC 9112 §6.3), so that bytes a proxy took for the
// next request are never read as one. The same request without
// Transfer-Encoding keeps its connection, which shows the test can tell.
func TestConnection_ClosesAfterARequestWithBothContentLengthAndTransferEncoding(t *testing.T) {
	t.Parallel()
	n := serveNode(t, nil, "--data", t.TempDir())
	addr := strings.TrimPrefix(n.url, "http://")
	body := `{"wallet_address":"nope"}`
	for _, c := range []struct {
		what, request string
		closes        bool
	}{
		{"Content-Length and Transfer-Encoding",
			"POST /accounts/signin/challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
				"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"19\r\n" + body + "\r\n0\r\n\r\n", true},
		{"Transfer-Encoding and Content-Length, the other order, on the forward-auth check",
			"GET /auth/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n0\r\n\r\n", true},
		{"Content-Length alone",
			"POST /accounts/signin/challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
				"Content-Length: 25\r\n\r\n" + body, false},
	} {
		t.Run(c.what, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			// A second request right behind: a kept connection answers it.
			next := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
			if _, err := io.WriteString(conn, c.request+next); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(conn)
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("answered %d", resp.StatusCode)
			}
			second, err := http.ReadResponse(r, nil)
			if c.closes {
				if !resp.Close { // (ReadResponse takes the Connection header into Close)
					t.Errorf("answered %d without Connection: close", resp.StatusCode)
				}
				if err == nil {
					t.Errorf("the connection stayed open: the next request was answered %d", second.StatusCode)
				} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "reset") {
					t.Errorf("reading after the answer: %v, want the connection closed", err)
				}
				return
			}
			if err != nil || second.StatusCode != 200 {
				t.Errorf("a plain request's connection was not kept: %v", err)
			}
		})
	}
}
