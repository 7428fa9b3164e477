package cmd

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every flag that takes a value completes it: a list where it is one, suggestions for
// durations and addresses, file or directory names where it names one. Left to cobra, a shell
// offers the current directory's files for -o.
func TestEveryValueFlagCompletes(t *testing.T) {
	t.Parallel()
	root := newRootCmd(&globals{})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Value.Type() == "bool" {
				return
			}
			if _, ok := c.GetFlagCompletionFunc(f.Name); !ok {
				t.Errorf("%s --%s has no completion (add it to flagCompletions)", c.CommandPath(), f.Name)
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// What a shell gets for a flag's value or an argument, through cobra's __complete, as the
// completion scripts ask for it: the values one a line (value, tab, description), then
// ":DIRECTIVE". A process of its own, since cobra says which directive it chose on the
// process's own stderr.
func TestCompleteFlagValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args string // after "teamsface __complete"; the last word is being completed
		want string // stdout
	}{
		{"sync once --output ''", "table\tan aligned table\njson\tJSON with stable snake_case field names\n:4\n"},
		{"users match -o j", "table\tan aligned table\njson\tJSON with stable snake_case field names\n:4\n"}, // the shell filters by prefix
		{"presence get --log-level ''", "error\terrors only\nwarn\twarnings and errors (the default)\ninfo\talso each DND switched\n" +
			"debug\talso every request\ntrace\talso each user's decision and why\n:4\n"},
		{"sync watch --log-format ''", "text\tkey=value lines (the default)\njson\tone JSON object a line\n:4\n"},
		{"sync watch --interval ''", "10s\ta pass every 10 s (the default)\n30s\ta pass every 30 s\n1m\ta pass a minute\n:4\n"},
		{"sync once --pass-timeout ''", "30s\tfor a small site\n60s\ta minute\n90s\tthe default, below systemd's TimeoutStopSec=2min\n:4\n"},
		{"release --lock-timeout ''", "0s\texit 5 at once (the default)\n5s\twait for a pass in flight\n20s\twait for a slow pass\n1m\twait a minute\n:4\n"},
		{"sync watch --metrics-listen ''", ":9464\tevery address, port 9464\n127.0.0.1:9464\tthis host only, port 9464\nlocalhost:9464\tthis host only, port 9464\n:4\n"},
		{"demo --starface ''", "9\tthe classic login\n10\tOAuth password grant, OneHub\n:4\n"},
		{"--config ''", "yaml\nyml\n:8\n"},            // YAML files only
		{"mapping check ''", "yaml\nyml\n:8\n"},       // its FILE too
		{"sync once --metrics-file ''", "prom\n:8\n"}, // node_exporter's textfile collector reads *.prom
		{"sync once --state-dir ''", ":16\n"},         // directories only
		{"sync once ''", ":4\n"},                      // no arguments: no file names either
		{"presence get ''", ":4\n"},                   // a USER is no file name
		{"sync ''", "once\tRun one sync pass\nwatch\tRun sync passes in a loop until stopped\n:4\n"},
	} {
		t.Run(tc.args, func(t *testing.T) {
			t.Parallel()
			args := strings.Fields(strings.ReplaceAll(tc.args, "''", "\x00"))
			for i, a := range args {
				args[i] = strings.ReplaceAll(a, "\x00", "")
			}
			c := exec.Command(os.Args[0], append([]string{"__complete"}, args...)...)
			c.Env = append(os.Environ(), "TEAMSFACE_TEST_MAIN=1")
			out, err := c.Output()
			if err != nil {
				t.Fatalf("teamsface __complete %s: %v", tc.args, err)
			}
			if string(out) != tc.want {
				t.Errorf("teamsface __complete %s:\n%s\nwant:\n%s", tc.args, out, tc.want)
			}
		})
	}
}
