package cmd

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's "Running it for real" section is copied by admins into /etc/systemd/system, crontab
// and Task Scheduler; these tests keep it honest. Conventions the section follows:
//   - a unit file is a ```ini block whose first line is "# NAME.service" or "# NAME.timer";
//   - teamsface is invoked as /usr/local/bin/teamsface (or ...\teamsface.exe) or at the start of a
//     shell line; PowerShell passes its arguments in -Argument '...'; a launchd plist in
//     ProgramArguments.

const runningSection = "## Running it for real"

type fence struct {
	lang, body string
}

// readmeSection returns the text of the README section with the given heading.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no section %q", heading)
	}
	s = s[i+1+len(heading):]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	return s
}

var fenceRE = regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```")

func fences(section string) []fence {
	var out []fence
	for _, m := range fenceRE.FindAllStringSubmatch(section, -1) {
		out = append(out, fence{lang: m[1], body: m[2]})
	}
	return out
}

// unitFile is a parsed systemd unit: section → key → values in order (keys may repeat).
type unitFile map[string]map[string][]string

// parseUnit reads a unit file the way systemd does: [Section] headers, Key=Value lines, # and ;
// comments, a trailing backslash joining the next line (with a space).
func parseUnit(text string) (unitFile, error) {
	u := unitFile{}
	section := ""
	var pending string
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if pending != "" {
			if strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
				continue // comments inside a continuation are skipped, as systemd does
			}
			line = pending + " " + line
			pending = ""
		}
		if strings.HasSuffix(line, `\`) {
			pending = strings.TrimSpace(strings.TrimSuffix(line, `\`))
			continue
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: %q is neither a section nor key=value", n, line)
			}
			if section == "" {
				return nil, fmt.Errorf("line %d: %q comes before any [Section]", n, line)
			}
			k = strings.TrimSpace(k)
			if !regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`).MatchString(k) {
				return nil, fmt.Errorf("line %d: bad key %q", n, k)
			}
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	if pending != "" {
		return nil, fmt.Errorf("file ends inside a line continuation")
	}
	return u, nil
}

func (u unitFile) get(section, key string) (string, bool) {
	vs := u[section][key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true // the last assignment wins
}

func TestParseUnit(t *testing.T) {
	t.Parallel()
	u, err := parseUnit("# x.service\n[Service]\nExecStart=/bin/a \\\n  --b c\nEnvironment=A=1\n; c\n[Install]\nWantedBy=multi-user.target\n")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := u.get("Service", "ExecStart"); v != "/bin/a --b c" {
		t.Errorf("continuation: %q", v)
	}
	if v, _ := u.get("Service", "Environment"); v != "A=1" {
		t.Errorf("value with =: %q", v)
	}
	for _, bad := range []string{"Key=before section\n", "[Service]\nno equals sign\n", "[Service]\nA=b \\\n"} {
		if _, err := parseUnit(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// readmeUnits returns the README's unit files by name.
func readmeUnits(t *testing.T) map[string]string {
	t.Helper()
	units := map[string]string{}
	name := regexp.MustCompile(`^# ([a-z@-]+\.(?:service|timer))\n`)
	for _, f := range fences(readmeSection(t, runningSection)) {
		if f.lang != "ini" {
			continue
		}
		if m := name.FindStringSubmatch(f.body); m != nil {
			units[m[1]] = f.body
		}
	}
	return units
}

// hardening is what both services must carry.
var hardening = map[string]string{
	"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
	"PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectControlGroups": "yes",
	"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "LockPersonality": "yes",
	"MemoryDenyWriteExecute": "yes", "CapabilityBoundingSet": "", // SystemCallFilter: TestUnitHardening (it is two lines)
	"UMask": "0077", "User": "teamsface", "Group": "teamsface", "StateDirectoryMode": "0700",
}

func TestReadmeUnits(t *testing.T) {
	t.Parallel()
	units := readmeUnits(t)
	type want struct{ section, key, value string } // value "*" means any non-empty value
	checks := map[string][]want{
		"teamsface.service": {
			{"Service", "Restart", "on-failure"}, {"Service", "RestartSec", "*"},
			{"Service", "RestartPreventExitStatus", "2 4"}, {"Service", "EnvironmentFile", "*"},
			{"Install", "WantedBy", "multi-user.target"},
		},
		"teamsface-once.service": {
			{"Service", "Type", "oneshot"}, {"Service", "SuccessExitStatus", "3"}, {"Service", "EnvironmentFile", "*"},
		},
		"teamsface.timer": {
			{"Timer", "OnUnitActiveSec", "10s"}, {"Timer", "OnBootSec", "*"}, {"Timer", "AccuracySec", "1s"},
			// Without Unit= a timer starts the service of its own name, teamsface.service.
			{"Timer", "Unit", "teamsface-once.service"}, {"Install", "WantedBy", "timers.target"},
		},
	}
	execWants := map[string]string{"teamsface.service": "sync watch", "teamsface-once.service": "sync once"}
	for name, ws := range checks {
		text, ok := units[name]
		if !ok {
			t.Errorf("README has no ```ini block starting with \"# %s\"", name)
			continue
		}
		u, err := parseUnit(text)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if strings.HasSuffix(name, ".service") {
			for k, v := range hardening {
				ws = append(ws, want{"Service", k, v})
			}
			ws = append(ws, want{"Service", "StateDirectory", "teamsface"})
		}
		for _, w := range ws {
			got, ok := u.get(w.section, w.key)
			switch {
			case !ok:
				t.Errorf("%s: [%s] lacks %s=", name, w.section, w.key)
			case w.value == "*" && got == "", w.value != "*" && got != w.value:
				t.Errorf("%s: [%s] %s=%s, want %q", name, w.section, w.key, got, w.value)
			}
		}
		sub, ok := execWants[name]
		if !ok {
			continue
		}
		start, _ := u.get("Service", "ExecStart")
		args, err := invocationArgs(start)
		if err != nil {
			t.Errorf("%s: ExecStart=%s: %v", name, start, err)
			continue
		}
		if !strings.HasPrefix(strings.Join(args, " "), sub) {
			t.Errorf("%s: ExecStart=%s does not run %q", name, start, sub)
		}
		if err := checkCommandLine(args); err != nil {
			t.Errorf("%s: ExecStart=%s: %v", name, start, err)
		}
		// The state must land in StateDirectory=, which systemd creates and hands to the user.
		if !regexp.MustCompile(`--state-dir[ =](\$\{STATE_DIRECTORY\}|/var/lib/teamsface)( |$)`).MatchString(start) {
			t.Errorf("%s: ExecStart=%s does not pass --state-dir ${STATE_DIRECTORY}", name, start)
		}
	}
	verifyWithSystemd(t, units)
}

// verifyWithSystemd runs systemd-analyze verify on the units where it is installed. The binary
// the units name is replaced by a stub, since verify checks that ExecStart= is executable.
func verifyWithSystemd(t *testing.T, units map[string]string) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed; checked with the built-in parser only")
		return
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "teamsface")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	for name, text := range units {
		p := filepath.Join(dir, name)
		// systemd looks for a bare "teamsface" in /usr/local/bin and /usr/bin.
		text = strings.ReplaceAll(text, "ExecStart=teamsface ", "ExecStart="+stub+" ")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "@.service") {
			// A template is checked through an instance of it.
			p = filepath.Join(dir, strings.Replace(name, "@.", "@pbx1.", 1))
		}
		files = append(files, p)
	}
	cmd := exec.Command(sa, append([]string{"verify", "--man=no"}, files...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+dir+":")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// invocationRE finds teamsface invoked as a program: at the start of a line (also after
// "sudo -u USER") or after "(", or by a
// path ending in bin/teamsface or \teamsface.exe. The arguments end where the shell would end the command.
var invocationRE = regexp.MustCompile(`(?m)(?:^[ \t]*(?:sudo -u \S+ )?|bin/|\\|\()teamsface(?:\.exe)?[ \t]+([^;&|<>()"'#\n]*)`)

// invocationArgs returns the arguments of the one teamsface invocation in line.
func invocationArgs(line string) ([]string, error) {
	all := invocations(line)
	if len(all) != 1 {
		return nil, fmt.Errorf("want one teamsface invocation, found %d", len(all))
	}
	return all[0], nil
}

func invocations(text string) [][]string {
	var out [][]string
	for _, m := range invocationRE.FindAllStringSubmatch(text, -1) {
		// No arguments: a folder named teamsface (C:\ProgramData\teamsface | ...), not a run.
		if args := strings.Fields(m[1]); len(args) > 0 {
			out = append(out, args)
		}
	}
	return out
}

// readmeCommandLines returns every teamsface command line in the section, outside unit files.
func readmeCommandLines(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	psArgs := regexp.MustCompile(`-Argument '([^']*)'`)
	plist := regexp.MustCompile(`(?s)<key>ProgramArguments</key>\s*<array>(.*?)</array>`)
	plistString := regexp.MustCompile(`<string>([^<]*)</string>`)
	for _, f := range fences(readmeSection(t, runningSection)) {
		switch f.lang {
		case "ini":
			units := regexp.MustCompile(`^# [a-z@-]+\.(service|timer)\n`)
			if units.MatchString(f.body) {
				continue // checked with their ExecStart= by TestReadmeUnits
			}
		case "powershell":
			for _, m := range psArgs.FindAllStringSubmatch(f.body, -1) {
				out = append(out, strings.Fields(m[1]))
			}
		case "xml":
			if m := plist.FindStringSubmatch(f.body); m != nil {
				var args []string
				for _, s := range plistString.FindAllStringSubmatch(m[1], -1) {
					args = append(args, s[1])
				}
				if len(args) > 0 && strings.HasSuffix(args[0], "/teamsface") {
					out = append(out, args[1:])
				}
			}
			continue
		}
		body := strings.ReplaceAll(f.body, "\\\n", " ") // shell line continuations
		out = append(out, invocations(body)...)
	}
	return out
}

func TestReadmeCommandLines(t *testing.T) {
	t.Parallel()
	lines := readmeCommandLines(t)
	if len(lines) < 8 {
		t.Fatalf("found only %d teamsface command lines in %q: %q", len(lines), runningSection, lines)
	}
	for _, args := range lines {
		if err := checkCommandLine(args); err != nil {
			t.Errorf("README: teamsface %s: %v", strings.Join(args, " "), err)
		}
	}
}

func TestCheckCommandLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{"sync watch --interval 10s --state-dir /var/lib/teamsface", true},
		{"--config /etc/teamsface/mapping.yaml sync once --lock-timeout 5s", true},
		{"completion zsh", true},
		{"sync watch --intervall 10s", false},     // misspelt flag
		{"sync once --pass-timeout 1m", true},     // sync once has it too
		{"users match --interval 10s", false},     // a flag of another subcommand
		{"sync", false},                           // not runnable by itself
		{"sync forever", false},                   // no such subcommand
		{"version extra", false},                  // takes no arguments
		{"sync once --lock-timeout soon", false},  // not a duration
		{"sync once -o yaml", false},              // not an output format
		{"sync once --log-level verbose", false},  // not a level
		{"users match --fail-on-unmatched", true}, // a bool flag
		{"mapping check a.yaml b.yaml", false},    // one FILE at most
		{"presence get 0003 alice@contoso.com", true},
	} {
		err := checkCommandLine(strings.Fields(tc.line))
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.line, err, tc.ok)
		}
	}
}

// checkCommandLine says whether args (without the program name) name a runnable teamsface
// command with flags and arguments it accepts, walking the real command tree.
func checkCommandLine(args []string) error {
	g := &globals{deps: Deps{Getenv: func(string) string { return "" }}}
	root := newRootCmd(g)
	// Cobra adds these two only when it executes; the README and examples use them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	c, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if !c.Runnable() {
		return fmt.Errorf("%q is not a command that runs (unknown subcommand?)", c.CommandPath())
	}
	if err := c.ParseFlags(rest); err != nil {
		return fmt.Errorf("%s: %w", c.CommandPath(), err)
	}
	if err := c.ValidateArgs(c.Flags().Args()); err != nil {
		return fmt.Errorf("%s: %w", c.CommandPath(), err)
	}
	// The values cobra cannot check (--output, --log-level, --log-format) are checked here.
	return g.applyEnv(c.Flags())
}
