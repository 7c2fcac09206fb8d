// Command upstream is the small Go service the gateway benchmark
// (scripts/gatewaybench) puts behind nginx: it answers every request with
// a short JSON body, over keep-alive connections, and does nothing else, so
// that what the benchmark measures is the gateway and espresso.
//
//	upstream ADDR
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: upstream ADDR")
		os.Exit(2)
	}
	body := []byte(`{"orders":[]}` + "\n")
	srv := &http.Server{
		Addr: os.Args[1],
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = []string{"application/json"}
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
