package httpapi

import (
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
)

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
	if !reflect.DeepEqual(path(served, "paths", "/accounts/new-api-key"), path(seed, "paths", "/accounts/new-api-key")) {
		t.Error("the new-api-key operation differs from the platform's")
	}
	for name, schema := range path(seed, "components", "schemas").(map[string]any) {
		if !reflect.DeepEqual(path(served, "components", "schemas", name), schema) {
			t.Errorf("schema %s differs from the platform's", name)
		}
	}
	if !reflect.DeepEqual(served["info"], seed["info"]) {
		t.Error("info differs from the platform's")
	}

	// Every documented operation is routed, and every API route is documented.
	documented := map[string]bool{}
	for p, ops := range served["paths"].(map[string]any) {
		for method := range ops.(map[string]any) {
			documented[strings.ToUpper(method)+" "+p] = true
		}
	}
	mux := http.NewServeMux()
	addRoutes(mux, Deps{})
	for route := range documented {
		method, p, _ := strings.Cut(route, " ")
		req, _ := http.NewRequest(method, p, nil)
		if _, pattern := mux.Handler(req); pattern != route {
			t.Errorf("documented %s is routed to %q", route, pattern)
		}
	}
	for _, route := range []string{"GET /accounts/new-api-key", "GET /accounts/api-key", "DELETE /accounts/api-key",
		"POST /accounts/signin/challenge", "POST /accounts/signin", "GET /healthz", "GET /readyz"} {
		if !documented[route] {
			t.Errorf("%s is not documented", route)
		}
	}
}
