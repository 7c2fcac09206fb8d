package httpapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
)

// wantSeedOperation checks the served new-api-key operation against the
// platform's: every field as the platform wrote it, but for what describes
// the server as it is: X-API-KEY is not required (a sign-in token works
// too; both are security schemes), and the statuses the route can answer
// besides the seed's 200 and 500, which stay byte for byte.
func wantSeedOperation(t *testing.T, served, seed map[string]any) {
	t.Helper()
	for k, v := range seed {
		switch k {
		case "parameters":
			ours, _ := served[k].([]any)
			theirs := v.([]any)
			if len(ours) != 1 || len(theirs) != 1 {
				t.Errorf("new-api-key has %d parameters, the platform's %d", len(ours), len(theirs))
				continue
			}
			want := maps.Clone(theirs[0].(map[string]any))
			want["required"] = false
			if !reflect.DeepEqual(ours[0], want) {
				t.Errorf("new-api-key's X-API-KEY parameter is %v, want the platform's, not required", ours[0])
			}
		case "responses":
			ours, _ := served[k].(map[string]any)
			for status, r := range v.(map[string]any) {
				if !reflect.DeepEqual(ours[status], r) {
					t.Errorf("new-api-key's %s response differs from the platform's", status)
				}
			}
		default:
			if !reflect.DeepEqual(served[k], v) {
				t.Errorf("new-api-key's %s differs from the platform's", k)
			}
		}
	}
	for k := range served {
		if _, ok := seed[k]; !ok {
			t.Errorf("new-api-key has %s, which the platform's does not", k)
		}
	}
}

// TestOpenAPI_KeepsTheSeedsContractAndListsEveryRoute compares the served
// document with the platform's (testdata/seed-openapi.json, copied from
// the page the product was born from) and with the routes the server has.
func TestOpenAPI_KeepsTheSeedsContractAndListsEveryRoute(t *testing.T) {
	e := newTestEnv(t)
	resp, body := e.do("GET", "/openapi.json", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /openapi.json: %d", resp.StatusCode)
	}
	var served, seed map[string]any
	if err := json.Unmarshal(body, &served); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/seed-openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &seed); err != nil {
		t.Fatal(err)
	}
	path := func(doc map[string]any, keys ...string) any {
		var v any = doc
		for _, k := range keys {
			v = v.(map[string]any)[k]
		}
		return v
	}
	wantSeedOperation(t, path(served, "paths", "/accounts/new-api-key", "get").(map[string]any),
		path(seed, "paths", "/accounts/new-api-key", "get").(map[string]any))
	for name, schema := range path(seed, "components", "schemas").(map[string]any) {
		if !reflect.DeepEqual(path(served, "components", "schemas", name), schema) {
			t.Errorf("schema %s differs from the platform's", name)
		}
	}
	if !reflect.DeepEqual(served["info"], seed["info"]) {
		t.Error("info differs from the platform's")
	}

	// Every documented operation is routed, and every route the server
	// serves (its own table, the one the mux is built from) is documented.
	documented := map[string]bool{}
	for p, ops := range served["paths"].(map[string]any) {
		for method := range ops.(map[string]any) {
			documented[strings.ToUpper(method)+" "+p] = true
		}
	}
	table := routes(Deps{})
	rt := newRouter(table, nil)
	for op := range documented {
		method, p, _ := strings.Cut(op, " ")
		req, _ := http.NewRequest(method, p, nil)
		// A route of every method (the forward-auth check) is documented
		// as GET, and says so.
		if _, pattern := rt.mux.Handler(req); pattern != op && pattern != p {
			t.Errorf("documented %s is routed to %q", op, pattern)
		}
	}
	nServed := 0
	for _, r := range table {
		if r.refused || r.page {
			continue
		}
		nServed++
		if r.method == "" && !documented["GET "+r.path] || r.method != "" && !documented[r.pattern()] {
			t.Errorf("%s is served but not documented", r.pattern())
		}
	}
	if nServed != len(documented) {
		t.Errorf("%d routes served, %d documented", nServed, len(documented))
	}
}

func TestOpenAPI_IsNotCached(t *testing.T) {
	e := newTestEnv(t)
	resp, _ := e.do("GET", "/openapi.json", nil)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store like every other answer", cc)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}
