package forwardauth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/espresso-auth/espresso/forwardauth"
)

// A service guards its handlers with espresso. Here nobody listens at the
// URL given, so the middleware answers 503 in the platform's format and
// the handler is never called; with espresso there, a valid X-API-KEY
// reaches the handler with its account in the context.
func ExampleClient_Middleware() {
	auth, err := forwardauth.New(forwardauth.Options{URL: "http://127.0.0.1:1"}) // e.g. http://espresso.internal:8080
	if err != nil {
		panic(err)
	}
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := forwardauth.FromContext(r.Context())
		fmt.Fprintf(w, "the orders of account %s (wallet %s, by %s)\n", a.ID, a.Wallet, a.Credential)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /orders", auth.Middleware(orders))

	req := httptest.NewRequest("GET", "/orders", nil)
	req.Header.Set("X-API-KEY", "dk_live_4fT0…")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 503 {"code":5001,"error":"System resources temporaily unavailable","msg":"System resources temporaily unavailable"}
}
