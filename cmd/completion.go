package cmd

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Shell completion of flag values (`teamsface completion bash|zsh|fish|powershell`): the
// values a flag accepts where they are a list, sensible ones where it takes a duration or an
// address, and file or directory names only where a flag names one. Without a function, a
// shell offers the files of the current directory for every flag, `-o` included.

// flagCompletions are the completion functions by flag name; a flag of that name on any
// command gets it. TestEveryValueFlagCompletes keeps the list whole.
var flagCompletions = map[string]cobra.CompletionFunc{
	"output": fixed("table\tan aligned table", "json\tJSON with stable snake_case field names"),
	"log-level": fixed("error\terrors only", "warn\twarnings and errors (the default)", "info\talso each DND switched",
		"debug\talso every request", "trace\talso each user's decision and why"),
	"log-format": fixed("text\tkey=value lines (the default)", "json\tone JSON object a line"),
	"config":     files("yaml", "yml"),
	"state-dir":  directories,
	"lock-timeout": fixed("0s\texit 5 at once (the default)", "5s\twait for a pass in flight", "20s\twait for a slow pass",
		"1m\twait a minute"),
	// sync once (how often cron or the timer runs it) and sync watch, service install (time
	// between passes).
	"interval":     fixed("10s\ta pass every 10 s (the default)", "30s\ta pass every 30 s", "1m\ta pass a minute"),
	"pass-timeout": fixed("30s\tfor a small site", "60s\ta minute", "90s\tthe default, below systemd's TimeoutStopSec=2min"),
	"metrics-file": files("prom"),
	"metrics-listen": fixed(":9464\tevery address, port 9464", "127.0.0.1:9464\tthis host only, port 9464",
		"localhost:9464\tthis host only, port 9464"),
	// demo
	"users":    fixed("12\tthe default", "100\ta mid-sized site", "1000\ta large site"),
	"duration": fixed("15s\tthe default", "30s\thalf a minute", "1m\ta minute"),
	"seed":     fixed("1\tthe default"),
	"starface": fixed("9\tthe classic login", "10\tOAuth password grant, OneHub"),
	"serve":    directories,
	"step":     fixed("10s\tthe default: sync watch's interval", "2s\ta quick run through the day", "30s\ta slow one"),
	// man
	"dir": directories,
	// service install and the other service commands
	"name":    fixed("teamsface\tthe default; several services need several names"),
	"account": fixed(`NT AUTHORITY\LocalService`+"\tthe default: few rights, no network identity", `NT AUTHORITY\NetworkService`+"\tthe computer's identity on the network"),
}

// fixed offers exactly these values, each "value\tdescription", and no file names.
func fixed(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}

// files offers the file names with these extensions (and directories to descend into).
func files(exts ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return exts, cobra.ShellCompDirectiveFilterFileExt
	}
}

// directories offers directory names only.
func directories(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// registerFlagCompletions gives every flag below root that flagCompletions names its function,
// and a command that takes no arguments no file names for them. Call it once the tree is
// complete (after guardGroups).
func registerFlagCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.ValidArgsFunction == nil && c.Args != nil && c.Args(c, []string{"x"}) != nil {
			c.ValidArgsFunction = cobra.NoFileCompletions
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if fn, ok := flagCompletions[f.Name]; ok {
				// An error means the flag has one already: the command's own wins.
				_ = c.RegisterFlagCompletionFunc(f.Name, fn)
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}
