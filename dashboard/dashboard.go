// Package dashboard serves the web page on which people sign in with their
// Cardano wallet and manage their API key. The page is one HTML document and
// a few plain JavaScript modules and a stylesheet, embedded in the binary:
// nothing is built at run time and nothing is fetched from anywhere else. The
// page has no server-side logic of its own; it speaks the JSON API like any
// other client.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// ContentSecurityPolicy is sent with every response of the dashboard's
// routes. Scripts and styles come from this origin only (no inline script,
// no style attributes), the page may only talk to this origin, images may
// also be data: URLs (CIP-30 wallets describe their icon that way), and no
// other site may frame the page.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed index.html
var page []byte

//go:embed assets
var assets embed.FS

// contentType is the type of a file under assets/, by its extension, or ""
// for an extension the dashboard does not use (a mistake that
// TestAssets_EachHasAKnownType catches).
func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return ""
}

// Route is one of the dashboard's paths and what answers GET (and HEAD) on
// it. Paths are ServeMux patterns.
type Route struct {
	Path    string
	Handler http.Handler
}

// Routes returns the dashboard's routes: "/{$}" answers the page, and
// /assets/NAME each embedded asset. Only those exact paths exist, so any
// other path under /assets/ gets whatever the server answers unknown paths
// with (the platform's JSON 404).
//
// Every answer carries ContentSecurityPolicy, X-Content-Type-Options:
// nosniff and Referrer-Policy: no-referrer. The page is never cached (a
// new release must reach every user at once); an asset may be, but is
// revalidated on every use with its ETag.
func Routes() []Route {
	routes := []Route{{Path: "/{$}", Handler: servePage()}}
	entries, err := fs.ReadDir(assets, "assets")
	if err != nil {
		panic("dashboard: the embedded assets are unreadable: " + err.Error()) // cannot happen: go:embed checked them
	}
	for _, e := range entries {
		body, err := fs.ReadFile(assets, "assets/"+e.Name())
		if err != nil {
			panic("dashboard: the embedded assets are unreadable: " + err.Error())
		}
		routes = append(routes, Route{Path: "/assets/" + e.Name(), Handler: serveAsset(e.Name(), body)})
	}
	return routes
}

// secure sets the headers every dashboard answer carries.
func secure(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// A window this page opens cannot reach back into it, nor it into them.
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

func servePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		secure(h)
		h.Set("Content-Type", "text/html; charset=utf-8")
		// no-store also keeps the page out of the back-forward cache, so a
		// key shown once does not come back with the Back button.
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(page)
	})
}

func serveAsset(name string, body []byte) http.Handler {
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	ctype := contentType(name)
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		secure(h)
		h.Set("Content-Type", ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", etag)
		// ServeContent answers If-None-Match with 304, HEAD and ranges.
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
	})
}
