package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// apiDocPath is the OpenAPI document the server embeds and serves at
// /openapi.json (TestOpenAPI_EveryRouteIsExercisedAndMatchesTheDocument
// checks that they are the same bytes).
const apiDocPath = "../../httpapi/openapi.json"

// apiDoc is the document, loaded once, and a router over its operations.
var apiDoc = sync.OnceValues(func() (routers.Router, error) {
	raw, err := os.ReadFile(apiDocPath)
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", apiDocPath, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", apiDocPath, err)
	}
	return gorillamux.NewRouter(doc)
})

// validatingTransport carries the end-to-end tests' requests and checks
// each request and its answer against the OpenAPI document, with
// kin-openapi's openapi3filter, so that the server and the document cannot
// drift apart: every answer of a documented operation must be one of its
// documented statuses, with a body of its schema; a request the document
// refuses (a missing credential, a malformed body) must get a 4xx; every
// error body must be {"code", "error", "msg"}, msg equal to error; a
// request to no documented operation may only get a 404 or 405 error, or a
// page of the dashboard (not JSON). A violation is the request's error, so
// the test that sent it fails where it sent it.
//
// It records which operations answered with which statuses, for the test
// that every operation was exercised.
type validatingTransport struct {
	base http.RoundTripper
	seen *coverage
}

// coverage is the operations a validatingTransport carried, with the
// statuses they answered.
type coverage struct {
	mu  sync.Mutex
	ops map[string]map[int]bool // "GET /accounts/api-key" → statuses
}

func newCoverage() *coverage { return &coverage{ops: map[string]map[int]bool{}} }

func (c *coverage) add(op string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ops[op] == nil {
		c.ops[op] = map[int]bool{}
	}
	c.ops[op][status] = true
}

// statuses returns the statuses op answered, in order.
func (c *coverage) statuses(op string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []int
	for status := range c.ops[op] {
		s = append(s, status)
	}
	sort.Ints(s)
	return s
}

// newValidatingClient returns a client whose every request is validated,
// and recorded in seen. It keeps enough idle connections for 64 concurrent
// callers, and bounds every request so that a hung server fails the test
// instead of hanging it.
func newValidatingClient(seen *coverage) *http.Client {
	return &http.Client{
		Transport: &validatingTransport{
			base: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 128, IdleConnTimeout: 30 * time.Second},
			seen: seen,
		},
		Timeout: 30 * time.Second,
	}
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	router, err := apiDoc()
	if err != nil {
		return nil, err
	}
	var reqBody []byte
	if req.Body != nil {
		reqBody, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	sent := req.Clone(req.Context())
	sent.Body = io.NopCloser(bytes.NewReader(reqBody))
	resp, err := v.base.RoundTrip(sent)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if req.Method == http.MethodHead {
		return resp, nil
	}
	if err := v.check(router, req, reqBody, resp, respBody); err != nil {
		return nil, fmt.Errorf("%s %s answered %d %s: against the OpenAPI document: %w",
			req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(respBody), err)
	}
	return resp, nil
}

// presentCredential is the document's security schemes as a client sees
// them: the request carries the header the scheme names. Whether the
// credential is valid is the server's to say (401).
func presentCredential(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	if s.Type == "apiKey" && s.In == "header" && in.RequestValidationInput.Request.Header.Get(s.Name) != "" {
		return nil
	}
	return fmt.Errorf("no %s header", s.Name)
}

func (v *validatingTransport) check(router routers.Router, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) error {
	ctx := context.Background()
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		// No documented operation: a dashboard page, or a JSON 404 or 405.
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			return nil
		}
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			return fmt.Errorf("no documented operation (%v), yet not a 404 or 405", err)
		}
		return checkErrorBody(respBody)
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: presentCredential, MultiError: true}}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return err
	}
	if reqErr != nil && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
		return fmt.Errorf("the document refuses the request (%v), yet the server answered %d", reqErr, resp.StatusCode)
	}
	if resp.StatusCode >= 400 {
		if err := checkErrorBody(respBody); err != nil {
			return err
		}
	}
	v.seen.add(req.Method+" "+route.Path, resp.StatusCode)
	return nil
}

// checkErrorBody checks the platform's error format: exactly "code",
// "error" and "msg", in that order, msg equal to error.
func checkErrorBody(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	var names []string
	values := map[string]any{}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("the error body is not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		names = append(names, tok.(string))
		values[tok.(string)] = v
	}
	if !slices.Equal(names, []string{"code", "error", "msg"}) || values["msg"] != values["error"] {
		return errors.New(`the error body is not {"code", "error", "msg"} with msg equal to error`)
	}
	return nil
}
