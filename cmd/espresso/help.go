package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// writeOverview prints `espresso help`: every command, one line each.
func writeOverview(w io.Writer) error {
	fmt.Fprint(w, "espresso: API keys and wallet sign-in for a trading API.\n\nUsage: espresso COMMAND [flags]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.synopsis), c.summary)
	}
	fmt.Fprintf(tw, "  %s\t%s\n", "help [COMMAND]", "print this, or a command's help")
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprint(w, `
Every command takes --help (or run 'espresso help COMMAND'). A flag not given
is read from its ESPRESSO_* environment variable (--data from ESPRESSO_DATA).
Commands print JSON on stdout; a failure is one line on stderr, exit status 1,
or 2 for a mistake in the command line.
`)
	return err
}

// writeGroupHelp prints the commands of a group, such as `espresso key`.
func writeGroupHelp(w io.Writer, group string) error {
	fmt.Fprintf(w, "Usage: espresso %s COMMAND [flags]\n\nCommands:\n", group)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.synopsis), c.summary)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nRun 'espresso help %s COMMAND' for a command's flags.\n", group)
	return err
}

// writeCommandHelp prints a command's help: what it does and each of its
// flags, with its variable and default.
func writeCommandHelp(w io.Writer, name string, fs *flag.FlagSet) {
	c, _ := lookup(name)
	about := c.about
	if about == "" {
		about = strings.ToUpper(c.summary[:1]) + c.summary[1:] + "."
	}
	synopsis := "espresso " + name
	if c.synopsis != "" {
		synopsis += " " + c.synopsis
	}
	fmt.Fprintf(w, "Usage: %s [flags]\n\n%s\n", synopsis, about)
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprint(w, "\nFlags (a flag not given is read from the variable named after it):\n")
			first = false
		}
		placeholder, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s %s\n", f.Name, strings.ToUpper(placeholder))
		for line := range strings.SplitSeq(usage, "\n") {
			fmt.Fprintf(w, "        %s\n", line)
		}
		if f.DefValue != "" {
			fmt.Fprintf(w, "        %s, default %s\n", envName(f.Name), f.DefValue)
		} else {
			fmt.Fprintf(w, "        %s\n", envName(f.Name))
		}
	})
}
