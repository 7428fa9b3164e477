package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Group commands (sync, users, presence, mapping, completion) only hold subcommands. Left to
// cobra, `teamsface sync onse` or a bare `teamsface sync` prints help and exits 0, so a cron line
// with a typo silently does nothing for ever. Here a group refuses anything but a known
// subcommand with exit 2, the way gh does: `unknown command "onse" for "teamsface sync"` and a
// suggestion.

// unknownCommandError is an argument where a subcommand or help topic was expected (exit 2).
type unknownCommandError struct {
	what    string // "command" or "help topic"
	typed   string
	parent  string // command path, "teamsface sync"
	suggest []string
	others  []string // the parent's subcommands, when nothing is close enough to suggest
}

func (e *unknownCommandError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unknown %s %q for %q", e.what, e.typed, e.parent)
	switch {
	case len(e.suggest) > 0:
		b.WriteString("\n\nDid you mean this?\n")
		for _, s := range e.suggest {
			fmt.Fprintf(&b, "\t%s\n", s)
		}
	case len(e.others) > 0:
		fmt.Fprintf(&b, "; use one of: %s", strings.Join(e.others, ", "))
	}
	return b.String()
}

// missingCommandError is a group command run without a subcommand (exit 2). Run prints the
// group's help to stderr before it.
type missingCommandError struct {
	cmd  *cobra.Command
	subs []string
}

func (e *missingCommandError) Error() string {
	return fmt.Sprintf("%q needs a command: one of %s", e.cmd.CommandPath(), strings.Join(e.subs, ", "))
}

// isGroup says whether c only holds subcommands.
func isGroup(c *cobra.Command) bool { return c.HasParent() && c.HasSubCommands() && !c.Runnable() }

// guardGroups makes every group command below root refuse unknown or missing subcommands. Call
// it once the tree is complete, cobra's completion command included.
func guardGroups(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			walk(s)
		}
		if !isGroup(c) {
			return
		}
		// Cobra validates arguments only of a command that runs, so the group gets a RunE; the
		// validator below refuses every call before it is reached.
		c.Args = groupArgs
		c.RunE = func(c *cobra.Command, args []string) error { return groupArgs(c, args) }
		c.SetUsageFunc(groupUsage(c, root.UsageFunc()))
	}
	walk(root)
}

// groupArgs accepts no arguments at all: any argument a group command sees is a subcommand
// cobra did not find.
func groupArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return &missingCommandError{cmd: c, subs: subcommandNames(c)}
	}
	e := &unknownCommandError{what: "command", typed: args[0], parent: c.CommandPath(),
		suggest: suggestions(c, args[0])}
	if len(e.suggest) == 0 {
		// `teamsface presence 0003`: the one subcommand that takes these arguments is meant.
		if s := onlySubcommand(c); s != nil && s.ValidateArgs(args) == nil {
			e.suggest = []string{s.CommandPath() + " " + strings.Join(args, " ")}
		} else {
			e.others = subcommandNames(c)
		}
	}
	return e
}

// groupUsage renders a group's usage as cobra does for a command that does not run: without
// the "teamsface sync [flags]" line the group's RunE would otherwise add. Cobra hands a usage
// function down to the subcommands that have none of their own (`sync once` uses `sync`'s), and
// those do run: their RunE stays, or their help would show an empty "Usage:" line.
func groupUsage(group *cobra.Command, usage func(*cobra.Command) error) func(*cobra.Command) error {
	return func(c *cobra.Command) error {
		if c != group {
			return usage(c)
		}
		run := c.RunE
		c.RunE = nil
		defer func() { c.RunE = run }()
		return usage(c)
	}
}

// subcommandNames lists the commands a user may type below c.
func subcommandNames(c *cobra.Command) []string {
	var names []string
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			names = append(names, s.Name())
		}
	}
	return names
}

func onlySubcommand(c *cobra.Command) *cobra.Command {
	var only *cobra.Command
	for _, s := range c.Commands() {
		if !s.IsAvailableCommand() {
			continue
		}
		if only != nil {
			return nil
		}
		only = s
	}
	return only
}

// suggestions are c's subcommands and help topics close to typed (case-insensitive): one edit
// or swap of neighbours away (two for names longer than four letters), or starting with it.
func suggestions(c *cobra.Command, typed string) []string {
	var out []string
	t := strings.ToLower(typed)
	limit := 1
	if len([]rune(t)) > 4 {
		limit = 2
	}
	for _, s := range c.Commands() {
		if s.Hidden || s.Deprecated != "" {
			continue
		}
		n := strings.ToLower(s.Name())
		if editDistance(t, n) <= limit || strings.HasPrefix(n, t) {
			out = append(out, s.Name())
		}
	}
	return out
}

// editDistance counts the insertions, deletions, substitutions and swaps of neighbours that turn
// a into b (optimal string alignment), so "snyc" is one step from "sync".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// newHelpCmd replaces cobra's help command, which answers `teamsface help nonexistent` with
// "Unknown help topic" and exit 0.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command or topic",
		Long: `Show the help of a command ("teamsface help sync once") or a topic ("teamsface help config",
"teamsface help exit-codes").`,
		Example: "  teamsface help sync once\n  teamsface help exit-codes",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			target, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, s := range target.Commands() {
				if !s.Hidden && s != c && strings.HasPrefix(s.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(s.Name(), s.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil && len(rest) == 0 {
				return &usageError{err}
			}
			if len(rest) > 0 {
				// Find stops at the first argument that is no subcommand of target and leaves it
				// in rest (the root also reports it as an error).
				typed := rest[0]
				return &usageError{&unknownCommandError{what: "help topic", typed: typed, parent: target.CommandPath(),
					suggest: suggestions(target, typed), others: helpNames(target)}}
			}
			target.InitDefaultHelpFlag()
			return target.Help()
		},
	}
}

// helpNames lists the commands and topics below c.
func helpNames(c *cobra.Command) []string {
	var names []string
	for _, s := range c.Commands() {
		if !s.Hidden && s.Deprecated == "" && s.Name() != "help" {
			names = append(names, s.Name())
		}
	}
	return names
}
