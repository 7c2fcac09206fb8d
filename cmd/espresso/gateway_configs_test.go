package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The Traefik and Envoy configs cannot be run here (neither is
// installable from Debian's packages): these tests only parse them, each
// strictly against the part of its documented schema it uses, and check
// that they ask /auth/verify, copy the three headers and keep the client's
// own out. docs/gateways.md says they are untested.

var espressoHeaders = []string{"X-Espresso-Account-Id", "X-Espresso-Wallet-Address", "X-Espresso-Credential"}

// decodeStrict decodes a shipped YAML file into v, refusing unknown keys.
func decodeStrict(t testing.TB, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile("../../" + path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestGatewayConfigs_Traefik(t *testing.T) {
	var c struct {
		HTTP struct {
			Routers map[string]struct {
				Rule        string   `yaml:"rule"`
				EntryPoints []string `yaml:"entryPoints"`
				Middlewares []string `yaml:"middlewares"`
				Service     string   `yaml:"service"`
			} `yaml:"routers"`
			Middlewares map[string]struct {
				Headers *struct {
					CustomRequestHeaders map[string]string `yaml:"customRequestHeaders"`
				} `yaml:"headers"`
				ForwardAuth *struct {
					Address             string   `yaml:"address"`
					TrustForwardHeader  bool     `yaml:"trustForwardHeader"`
					AuthRequestHeaders  []string `yaml:"authRequestHeaders"`
					AuthResponseHeaders []string `yaml:"authResponseHeaders"`
				} `yaml:"forwardAuth"`
			} `yaml:"middlewares"`
			Services map[string]struct {
				LoadBalancer struct {
					Servers []struct {
						URL string `yaml:"url"`
					} `yaml:"servers"`
				} `yaml:"loadBalancer"`
			} `yaml:"services"`
		} `yaml:"http"`
	}
	decodeStrict(t, "deploy/traefik/espresso.yml", &c)
	for name, r := range c.HTTP.Routers {
		if _, ok := c.HTTP.Services[r.Service]; !ok {
			t.Errorf("router %s: no service %q", name, r.Service)
		}
		stripped, asked := -1, -1
		for i, m := range r.Middlewares {
			mw, ok := c.HTTP.Middlewares[m]
			switch {
			case !ok:
				t.Errorf("router %s: no middleware %q", name, m)
			case mw.Headers != nil:
				for _, h := range espressoHeaders {
					if v, ok := mw.Headers.CustomRequestHeaders[h]; !ok || v != "" {
						t.Errorf("middleware %s does not remove %s", m, h)
					}
				}
				stripped = i
			case mw.ForwardAuth != nil:
				fa := mw.ForwardAuth
				if !strings.HasSuffix(fa.Address, "/auth/verify") || fa.TrustForwardHeader ||
					!slices.Contains(fa.AuthRequestHeaders, "X-Api-Key") || !slices.Contains(fa.AuthRequestHeaders, "Authorization") {
					t.Errorf("middleware %s: %+v", m, fa)
				}
				for _, h := range espressoHeaders {
					if !slices.Contains(fa.AuthResponseHeaders, h) {
						t.Errorf("middleware %s does not copy %s", m, h)
					}
				}
				asked = i
			}
		}
		if stripped < 0 || asked < stripped {
			t.Errorf("router %s: middlewares %v; want the client's headers stripped, then espresso asked", name, r.Middlewares)
		}
	}
	if len(c.HTTP.Routers) == 0 {
		t.Error("no router")
	}
}

func TestGatewayConfigs_Envoy(t *testing.T) {
	var doc map[string]any
	decodeStrict(t, "deploy/envoy/envoy.yaml", &doc)
	// Walk to the ext_authz filter of the one listener.
	get := func(v any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[k]
			case int:
				s, _ := v.([]any)
				if k >= len(s) {
					return nil
				}
				v = s[k]
			}
		}
		return v
	}
	hcm := get(doc, "static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config")
	if get(hcm, "@type") != "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager" {
		t.Fatalf("the first filter is not the HTTP connection manager: %v", get(hcm, "@type"))
	}
	authz := get(hcm, "http_filters", 0, "typed_config")
	if get(authz, "@type") != "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz" ||
		get(authz, "failure_mode_allow") != false || get(authz, "http_service", "path_prefix") != "/auth/verify" {
		t.Fatalf("the first HTTP filter is not ext_authz asking /auth/verify and failing closed: %v", authz)
	}
	patterns := func(path ...any) []string {
		var out []string
		ps, _ := get(authz, path...).([]any)
		for _, p := range ps {
			if s, ok := get(p, "exact").(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	if sent := patterns("http_service", "authorization_request", "allowed_headers", "patterns"); !slices.Contains(sent, "x-api-key") || !slices.Contains(sent, "authorization") {
		t.Errorf("ext_authz sends %v, want x-api-key and authorization", sent)
	}
	copied := patterns("http_service", "authorization_response", "allowed_upstream_headers", "patterns")
	for _, h := range espressoHeaders {
		if !slices.Contains(copied, strings.ToLower(h)) {
			t.Errorf("ext_authz does not copy %s upstream", h)
		}
	}
	if get(hcm, "http_filters", 1, "name") != "envoy.filters.http.router" {
		t.Error("the router filter does not follow ext_authz")
	}
	clusters, _ := get(doc, "static_resources", "clusters").([]any)
	if cl := get(authz, "http_service", "server_uri", "cluster"); !slices.ContainsFunc(clusters, func(c any) bool { return get(c, "name") == cl }) {
		t.Errorf("ext_authz names cluster %v, which is not defined", cl)
	}
}
