package dashboard

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func newMux(t testing.TB) *http.ServeMux {
	t.Helper()
	mux := http.NewServeMux()
	for _, r := range Routes() {
		mux.Handle("GET "+r.Path, r.Handler)
	}
	return mux
}

func get(t testing.TB, h http.Handler, method, path string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func wantSecurityHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	for name, want := range map[string]string{
		"Content-Security-Policy": ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", what, name, got, want)
		}
	}
}

func TestPage_IsHTMLNeverCachedWithTheSecurityHeaders(t *testing.T) {
	mux := newMux(t)
	resp := get(t, mux, "GET", "/", nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<title>API key dashboard</title>") {
		t.Fatalf("GET /: %d %.80q", resp.StatusCode, body)
	}
	wantSecurityHeaders(t, "GET /", resp)
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

func TestAssets_AreRevalidatedWithAnETagAndCarryTheSecurityHeaders(t *testing.T) {
	mux := newMux(t)
	resp := get(t, mux, "GET", "/assets/app.js", nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(body) == 0 {
		t.Fatalf("GET /assets/app.js: %d", resp.StatusCode)
	}
	wantSecurityHeaders(t, "GET /assets/app.js", resp)
	if ct := resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q, want no-cache (revalidate every use)", cc)
	}
	etag := resp.Header.Get("ETag")
	if !regexp.MustCompile(`^"[A-Za-z0-9_-]{24}"$`).MatchString(etag) {
		t.Fatalf("ETag %q", etag)
	}

	again := get(t, mux, "GET", "/assets/app.js", http.Header{"If-None-Match": {etag}})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("with If-None-Match: %d, want 304", again.StatusCode)
	}
	wantSecurityHeaders(t, "304", again)
	other := get(t, mux, "GET", "/assets/style.css", nil)
	if other.Header.Get("ETag") == etag {
		t.Error("two different assets share an ETag")
	}
	stale := get(t, mux, "GET", "/assets/app.js", http.Header{"If-None-Match": {other.Header.Get("ETag")}})
	if stale.StatusCode != 200 {
		t.Errorf("with another asset's ETag: %d, want 200", stale.StatusCode)
	}
}

func TestAssets_EachHasAKnownType(t *testing.T) {
	entries, err := fs.ReadDir(assets, "assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if contentType(e.Name()) == "" {
			t.Errorf("assets/%s: no content type for its extension", e.Name())
		}
	}
}

func TestAssets_OnlyTheEmbeddedOnesAreRouted(t *testing.T) {
	mux := newMux(t)
	for _, p := range []string{"/assets/", "/assets/nope.js", "/assets/app.js/x", "/index.html", "/assets/../index.html"} {
		req := httptest.NewRequest("GET", p, nil)
		if _, pattern := mux.Handler(req); strings.HasPrefix(pattern, "GET /") {
			t.Errorf("GET %s is routed to %q", p, pattern)
		}
	}
}

// The CSP forbids inline script and style attributes; this catches them
// before a browser does, and checks every asset the page names exists.
func TestPage_HasNoInlineScriptOrStyleAndNamesOnlyEmbeddedAssets(t *testing.T) {
	html := string(page)
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]`), // a script with a body
		regexp.MustCompile(`(?i)\sstyle\s*=`),
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`),
	} {
		if m := bad.FindString(html); m != "" {
			t.Errorf("index.html: %q", m)
		}
	}
	for _, tag := range regexp.MustCompile(`(?i)<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, ` src="/assets/`) {
			t.Errorf("index.html: %s is not an embedded script", tag)
		}
	}
	mux := newMux(t)
	for _, m := range regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(html, -1) {
		if resp := get(t, mux, "GET", m[1], nil); resp.StatusCode != 200 {
			t.Errorf("index.html names %s: %d", m[1], resp.StatusCode)
		}
	}
	entries, _ := fs.ReadDir(assets, "assets")
	for _, e := range entries {
		body, _ := fs.ReadFile(assets, "assets/"+e.Name())
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			if strings.Contains(string(body), bad) {
				t.Errorf("assets/%s uses %s", e.Name(), bad)
			}
		}
	}
}
