package main

import (
	"context"
	"io"
	"runtime"
	"runtime/debug"
)

// versionOutput is what `espresso version` prints. Revision, Time and
// Modified come from the VCS stamp `go build` puts in a binary built from a
// checkout; they are left out when the binary has none.
type versionOutput struct {
	Version  string `json:"version"`            // the module's version, "(devel)" for a local build
	Revision string `json:"revision,omitempty"` // the commit
	Time     string `json:"time,omitempty"`     // the commit's time, RFC 3339
	Modified *bool  `json:"modified,omitempty"` // whether the checkout had changes not committed
	Go       string `json:"go"`                 // the toolchain that built the binary
}

// version prints the build information of the running binary.
func version(_ context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, _ io.Writer) error {
	fs := newFlagSet("version", stdout)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	out := versionOutput{Version: "unknown", Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		out.Version, out.Go = bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				out.Revision = s.Value
			case "vcs.time":
				out.Time = s.Value
			case "vcs.modified":
				modified := s.Value == "true"
				out.Modified = &modified
			}
		}
	}
	return printJSON(stdout, out)
}
