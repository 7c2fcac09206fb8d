package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// errUsage marks a mistake in the command line: main reports it in one line,
// points to the command's help and exits 2. Match it with errors.Is; make one
// with usagef (fmt.Errorf("%w: …", errUsage) also works).
var errUsage = errors.New("usage")

// errHelpShown is what a command returns when it printed its help instead
// of running: run turns it into success.
var errHelpShown = errors.New("help shown")

// usageError is a usage mistake: a one-line message and the command whose
// help explains it ("" for the overview).
type usageError struct {
	msg     string
	cmd     string
	cmdSet  bool
	wrapped error // the underlying error, if any
}

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }
func (e *usageError) Unwrap() error        { return e.wrapped }

// usagef returns a usage error saying what is wrong, in one line.
func usagef(format string, a ...any) error {
	return &usageError{msg: oneLine(fmt.Sprintf(format, a...))}
}

// withHint names the command whose help explains a usage error, unless the
// error already names one. Other errors pass unchanged.
func withHint(err error, cmd string) error {
	if err == nil || !errors.Is(err, errUsage) {
		return err
	}
	var ue *usageError
	if errors.As(err, &ue) {
		if !ue.cmdSet {
			ue.cmd, ue.cmdSet = cmd, true
		}
		return err
	}
	// fmt.Errorf("%w: message", errUsage): keep the message only.
	msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
	return &usageError{msg: oneLine(msg), cmd: cmd, cmdSet: true, wrapped: err}
}

// exitCode is the process's exit status for run's error: 2 for a usage
// mistake, 1 for anything else.
func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// report writes run's error to stderr as main shows it, and returns the exit
// status: "espresso: reason" on one line, and for a usage mistake a second
// line pointing to the help that explains it.
func report(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "espresso:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		what := "espresso help"
		if ue.cmd != "" {
			what += " " + ue.cmd
		}
		fmt.Fprintf(stderr, "Run '%s' for usage.\n", what)
	}
	return exitCode(err)
}

// oneLine joins the lines of s, so that a message stays one line whatever
// was quoted into it.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
}
