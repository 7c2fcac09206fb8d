// Command espresso is the API-key server of a trading API, and the operator's
// tool for it. See the README, or run `espresso help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		stop()
		os.Exit(report(os.Stderr, err))
	}
}
