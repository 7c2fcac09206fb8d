package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// envName is the variable that stands in for a flag.
func envName(flagName string) string {
	return "ESPRESSO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet returns the flag set of the named command. It prints nothing
// itself: parseFlags writes the command's help to help (stdout) when asked
// for it, and turns every mistake into a one-line usage error.
func newFlagSet(name string, help io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("espresso "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { writeCommandHelp(help, name, fs) }
	return fs
}

// parseFlags parses args, then fills every flag that was not given from its
// environment variable, with the same validation. -h or --help anywhere
// prints the command's help and returns errHelpShown; every mistake is a
// usage error naming the flag or variable at fault.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	showHelp := fs.Usage
	fs.Usage = func() {} // the flag package calls it on every error
	var refused error    // the first value a flag refused, with the flag's name
	fs.VisitAll(func(f *flag.Flag) { f.Value = &namedValue{Value: f.Value, name: f.Name, refused: &refused} })

	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp) || (err != nil && slices.ContainsFunc(args, isHelp)):
		showHelp()
		return errHelpShown
	case refused != nil:
		return refused
	case err != nil:
		return usagef("%s", flagMessage(err))
	case fs.NArg() > 0:
		return usagef("unexpected argument %q", fs.Arg(0))
	}

	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || refused != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := f.Value.(*namedValue).Value.Set(v); err != nil {
				refused = usagef("%s: %v", envName(f.Name), err)
			}
		}
	})
	return refused
}

// flagMessage rewords the flag package's errors in the --flag form the help
// uses.
func flagMessage(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return "unknown flag --" + strings.TrimLeft(name, "-")
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return "--" + strings.TrimLeft(name, "-") + " needs a value"
	}
	return msg
}

// namedValue remembers the first value its flag refused, with the flag's
// name: the flag package's own message says neither in our words.
type namedValue struct {
	flag.Value
	name    string
	refused *error
}

func (v *namedValue) Set(s string) error {
	err := v.Value.Set(s)
	if err != nil && *v.refused == nil {
		*v.refused = usagef("--%s: %v", v.name, err)
	}
	return err
}

// IsBoolFlag lets a wrapped boolean flag be given without a value.
func (v *namedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// positiveDuration is a duration flag that refuses zero and negative
// values: a zero --max-staleness or --jwt-ttl is a mistake, not a request
// for the default.
type positiveDuration struct{ p *time.Duration }

func durationFlag(fs *flag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var(positiveDuration{p}, name, usage)
}

func (v positiveDuration) String() string {
	if v.p == nil {
		return ""
	}
	s := v.p.String() // "1h0m0s": show "1h"
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (v positiveDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. 30s, 5m, 1h)", s)
	}
	if d <= 0 {
		return errors.New("must be positive")
	}
	*v.p = d
	return nil
}

// positiveInt is an integer flag that refuses zero and negative values.
type positiveInt struct{ p *int }

func positiveIntFlag(fs *flag.FlagSet, p *int, name string, value int, usage string) {
	*p = value
	fs.Var(positiveInt{p}, name, usage)
}

func (v positiveInt) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

func (v positiveInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	if n <= 0 {
		return errors.New("must be positive")
	}
	*v.p = n
	return nil
}
