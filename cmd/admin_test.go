package cmd

import (
	"strings"
	"testing"
)

// A mistyped or missing subcommand must fail (exit 2) with a suggestion: a cron line with a typo
// that prints help and exits 0 silently does nothing for ever.
func TestMistypedOrMissingSubcommandExits2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // all on stderr
	}{
		{[]string{"sync", "onse"}, []string{`unknown command "onse" for "teamsface sync"`, "Did you mean this?\n\tonce\n", "Run 'teamsface sync --help' for usage."}},
		{[]string{"users", "mach"}, []string{`unknown command "mach" for "teamsface users"`, "\tmatch\n"}},
		{[]string{"mapping", "chek", "FILE"}, []string{`unknown command "chek" for "teamsface mapping"`, "\tcheck\n"}},
		{[]string{"presence", "0003"}, []string{`unknown command "0003" for "teamsface presence"`, "\tteamsface presence get 0003\n"}},
		{[]string{"completion", "bsh"}, []string{`unknown command "bsh" for "teamsface completion"`, "\tbash\n"}},
		{[]string{"help", "nonexistent"}, []string{`unknown help topic "nonexistent" for "teamsface"`, "exit-codes", "sync"}},
		{[]string{"help", "sync", "onse"}, []string{`unknown help topic "onse" for "teamsface sync"`, "\tonce\n"}},
		{[]string{"help", "exit-code"}, []string{"\texit-codes\n"}},
		{[]string{"snyc", "once"}, []string{`unknown command "snyc" for "teamsface"`, "\tsync\n"}},
		{[]string{"sync", "forever"}, []string{`unknown command "forever" for "teamsface sync"; use one of: once, watch`}},
		{[]string{"--log-level", "debug", "sync", "onse"}, []string{`unknown command "onse"`}},
		// A group without its subcommand: its help on stderr, then what is missing.
		{[]string{"sync"}, []string{"Available Commands:\n  once ", `"teamsface sync" needs a command: one of once, watch`}},
		{[]string{"users"}, []string{`"teamsface users" needs a command: one of match`}},
		{[]string{"completion"}, []string{`"teamsface completion" needs a command: one of bash, fish, powershell, zsh`}},
	} {
		name := strings.Join(tc.args, " ")
		code, out, errs := runCLI(t, nil, tc.args...)
		if code != ExitUsage {
			t.Errorf("teamsface %s: exit %d, want %d\nstdout: %s\nstderr: %s", name, code, ExitUsage, out, errs)
		}
		if out != "" {
			t.Errorf("teamsface %s printed on stdout:\n%s", name, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("teamsface %s: stderr lacks %q:\n%s", name, w, errs)
			}
		}
	}
}

// The help of a group is still there when asked for, on stdout with exit 0, and does not claim
// the group runs by itself.
func TestGroupHelpWhenAsked(t *testing.T) {
	for _, args := range [][]string{{"sync", "--help"}, {"help", "sync"}, {"help", "completion"}} {
		code, out, errs := runCLI(t, nil, args...)
		if code != ExitOK || !strings.Contains(out, "Available Commands:") {
			t.Errorf("teamsface %v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
		if strings.Contains(out, "[flags]\n") && !strings.Contains(out, "[command] --help") {
			t.Errorf("teamsface %v: usage shows the group as a command that runs:\n%s", args, out)
		}
		if strings.Contains(out, "  teamsface sync [flags]\n") || strings.Contains(out, "  teamsface completion [flags]\n") {
			t.Errorf("teamsface %v: usage shows the group as a command that runs:\n%s", args, out)
		}
	}
	code, out, _ := runCLI(t, nil, "help", "exit-codes")
	if code != ExitOK || !strings.Contains(out, "Exit codes:") {
		t.Errorf("help exit-codes: exit %d, %q", code, out)
	}
	code, out, _ = runCLI(t, nil, "completion", "bash")
	if code != ExitOK || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: exit %d, stdout starts %.60q", code, out)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"onse", "once", 1}, {"snyc", "sync", 1}, {"mach", "match", 1}, {"", "abc", 3},
		{"sync", "sync", 0}, {"bsh", "fish", 2}, {"kitten", "sitting", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
