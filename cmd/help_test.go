package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/mapping"
)

// runCLI runs teamsface with an environment taken from env and returns what it printed.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	deps := Deps{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(""),
		Getenv: func(k string) string { return env[k] }}
	code = Run(context.Background(), deps, args)
	return code, out.String(), errb.String()
}

func TestHelpConfigListsEveryKey(t *testing.T) {
	t.Parallel()
	code, out, errs := runCLI(t, nil, "help", "config")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := map[string]bool{}
	for _, k := range mapping.Keys() {
		want[k.Key] = true
	}
	// A key line is two spaces, the key, then "(type, default ...)".
	keyLine := regexp.MustCompile(`^  (\S+) \(([^,]+), default .*\)$`)
	listed := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		m := keyLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if listed[m[1]] {
			t.Errorf("key %s listed twice", m[1])
		}
		listed[m[1]] = true
		if !want[m[1]] {
			t.Errorf("help config lists %q, which the loader does not accept", m[1])
		}
		if m[2] == "" {
			t.Errorf("key %s has no type", m[1])
		}
	}
	for k := range want {
		if !listed[k] {
			t.Errorf("help config does not list %q", k)
		}
	}
	// Anything else in the text that looks like a dotted key must be a real one too.
	sections := "microsoft|starface|users|teams_to_starface|starface_to_teams|tests"
	// (Not after a dot or a letter: graph.microsoft.us is a host name, not a key.)
	dotted := regexp.MustCompile(`(?:^|[^.\w])((?:` + sections + `)(?:\[\])?(?:\.[a-z_]+(?:\[\])?)+)`)
	for _, m := range dotted.FindAllStringSubmatch(out, -1) {
		if d := m[1]; !want[d] {
			t.Errorf("help config mentions %q, which is not a key", d)
		}
	}
}

func TestHelpExitCodes(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, nil, "help", "exit-codes")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, c := range []string{"0", "1", "2", "3", "4", "5", "6"} {
		if !regexp.MustCompile(`(?m)^  ` + c + `  \S`).MatchString(out) {
			t.Errorf("help exit-codes does not explain %s:\n%s", c, out)
		}
	}
}

// helpTopics are commands that only carry a help text (`teamsface help config`).
func isHelpTopic(c *cobra.Command) bool { return !c.Runnable() && !c.HasSubCommands() }

// commandPaths lists every command below root as its argument path, leaving out cobra's own
// completion commands, which carry cobra's texts.
func commandPaths(root *cobra.Command) [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, s := range c.Commands() {
			if s.Name() == "completion" || s.Name() == "help" || s.Hidden {
				continue
			}
			walk(s, append(append([]string{}, path...), s.Name()))
		}
	}
	walk(root, nil)
	return out
}

func TestEveryCommandHelpTeaches(t *testing.T) {
	t.Parallel()
	root := newRootCmd(&globals{})
	paths := commandPaths(root)
	if len(paths) < 10 {
		t.Fatalf("only %d commands found: %v", len(paths), paths)
	}
	for _, path := range paths {
		name := strings.Join(append([]string{"teamsface"}, path...), " ")
		c, _, err := root.Find(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.TrimSpace(c.Short) == "" {
			t.Errorf("%s has no one-line summary", name)
		}
		if strings.TrimSpace(c.Long) == "" {
			t.Errorf("%s has no longer description", name)
		}
		if isHelpTopic(c) {
			continue // read with `teamsface help TOPIC`; its Long is the whole text
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no examples", name)
			continue
		}
		code, out, errs := runCLI(t, nil, append(append([]string{}, path...), "--help")...)
		if code != 0 {
			t.Errorf("%s --help: exit %d: %s", name, code, errs)
			continue
		}
		if !strings.Contains(out, "\nExamples:\n") {
			t.Errorf("%s --help shows no Examples section:\n%s", name, out)
		}
		// Every example must be a command line that works: real subcommands, real flags.
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(line)
			if i := strings.Index(line, "#"); i >= 0 {
				line = strings.TrimSpace(line[:i])
			}
			if line == "" {
				continue
			}
			if err := checkCommandLine(strings.Fields(strings.TrimPrefix(line, "teamsface"))); err != nil {
				t.Errorf("%s example %q: %v", name, line, err)
			}
		}
	}
}

func TestEnvironmentAndFlags(t *testing.T) {
	t.Parallel()
	code, _, errs := runCLI(t, map[string]string{"TEAMSFACE_LOG_LEVEL": "bogus"}, "version")
	if code != ExitUsage || !strings.Contains(errs, "bogus") {
		t.Errorf("TEAMSFACE_LOG_LEVEL=bogus: exit %d, stderr %q; want %d naming the value", code, errs, ExitUsage)
	}
	code, out, errs := runCLI(t, map[string]string{"TEAMSFACE_LOG_LEVEL": "bogus"}, "--log-level", "warn", "version")
	if code != ExitOK || !strings.HasPrefix(out, "teamsface ") {
		t.Errorf("--log-level warn over TEAMSFACE_LOG_LEVEL=bogus: exit %d, stdout %q, stderr %q; the flag must win", code, out, errs)
	}
	code, out, errs = runCLI(t, map[string]string{"TEAMSFACE_OUTPUT": "json"}, "version")
	var v map[string]string
	if code != ExitOK || json.Unmarshal([]byte(out), &v) != nil || v["version"] == "" || v["commit"] == "" {
		t.Errorf("TEAMSFACE_OUTPUT=json version: exit %d, stdout %q, stderr %q; want a JSON object", code, out, errs)
	}
	code, out, _ = runCLI(t, map[string]string{"TEAMSFACE_OUTPUT": "json"}, "-o", "table", "version")
	if code != ExitOK || strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("-o table over TEAMSFACE_OUTPUT=json: exit %d, stdout %q; the flag must win", code, out)
	}
}

// Every command's --help is pinned in testdata/script/help_commands.txtar, cobra's completion
// and help commands included; a command added later without its help there fails here. Each
// that runs shows how to call it: "Usage:" followed by its command line.
func TestEveryCommandHelpIsPinned(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "script", "help_commands.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	script := string(data)
	root := newRootCmd(&globals{})
	root.InitDefaultHelpCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			if !s.Hidden {
				walk(s)
			}
		}
		if isHelpTopic(c) {
			return // its whole text is its Long (help.txtar pins exit-codes)
		}
		path := c.CommandPath()
		if !strings.Contains(script, "\n"+path+" --help\n") {
			t.Errorf("help_commands.txtar does not pin %q", path+" --help")
		}
		if !c.Runnable() {
			return
		}
		code, out, errs := runCLI(t, nil, append(strings.Fields(path)[1:], "--help")...)
		if code != 0 {
			t.Errorf("%s --help: exit %d: %s", path, code, errs)
			return
		}
		if !regexp.MustCompile(`\nUsage:\n  ` + regexp.QuoteMeta(path) + `[ \n]`).MatchString(out) {
			t.Errorf("%s --help has no usage line naming it:\n%s", path, out)
		}
	}
	walk(root)
}
