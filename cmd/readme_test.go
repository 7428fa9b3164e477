package cmd

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamsface/teamsface/cmd/internal/pass"
)

// Admins copy what the README shows into /etc/systemd/system, crontab and their shells; these
// tests keep it honest. Conventions the README follows:
//   - a unit file shown whole is a ```ini block whose first line is "# NAME.service" or
//     "# NAME.timer"; a unit not shown whole is named by its path, packaging/systemd/NAME, and the
//     settings quoted from it are `Key=Value` code spans;
//   - teamsface is invoked as /usr/local/bin/teamsface (or ...\teamsface.exe), at the start of a
//     shell line (also after "sudo -u USER" or "runuser -u USER --"); PowerShell passes its
//     arguments in -Argument '...'; a launchd plist in ProgramArguments.

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

// readmeSubsection returns the text of the README section with the given heading ("### ..."),
// up to the next heading of its level or above.
func readmeSubsection(t *testing.T, heading string) string {
	t.Helper()
	s := readme(t)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no section %q", heading)
	}
	s = s[i+1+len(heading):]
	for _, next := range []string{"\n## ", "\n### "} {
		if j := strings.Index(s, next); j >= 0 {
			s = s[:j]
		}
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

// readmeUnits returns the unit files the README shows whole, by name.
func readmeUnits(t *testing.T) map[string]string {
	t.Helper()
	units := map[string]string{}
	name := regexp.MustCompile(`^# ([a-z@-]+\.(?:service|timer))\n`)
	for _, f := range fences(readme(t)) {
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

// TestShippedUnits checks the settings that make each packaged unit work (the README shows
// them, whole or quoted: TestReadmeUnitsAreThePackagedFiles, TestReadmeUnitSettings).
func TestShippedUnits(t *testing.T) {
	t.Parallel()
	units := packagedUnits(t)
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
			t.Errorf("packaging/systemd/%s is missing", name)
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
// "sudo -u USER" or "runuser -u USER --") or after "(", or by a path ending in bin/teamsface or
// \teamsface.exe. The arguments end where the shell would end the command.
var invocationRE = regexp.MustCompile(`(?m)(?:^[ \t]*(?:sudo -u \S+ |runuser -u \S+ -- )?|bin/|\\|\()teamsface(?:\.exe)?[ \t]+([^;&|<>()"'#\n]*)`)

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

// readmeCommandLines returns every teamsface command line in the README's code blocks, outside
// unit files.
func readmeCommandLines(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	psArgs := regexp.MustCompile(`-Argument '([^']*)'`)
	plist := regexp.MustCompile(`(?s)<key>ProgramArguments</key>\s*<array>(.*?)</array>`)
	plistString := regexp.MustCompile(`<string>([^<]*)</string>`)
	for _, f := range fences(readme(t)) {
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
		t.Fatalf("found only %d teamsface command lines in the README: %q", len(lines), lines)
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

// unitSettingRE is a `Key=Value` code span: a unit setting the README quotes.
var unitSettingRE = regexp.MustCompile("`([A-Z][A-Za-z]+)=([^`]*)`")

// serviceSection is where the README quotes teamsface.service instead of showing it whole.
const serviceSection = "### systemd: `sync watch` as a service (recommended)"

// The settings the README quotes from the units are the ones that ship: in the section on
// teamsface.service that unit's own, elsewhere some packaged unit's. A key no packaged unit
// sets (LoadCredential=, PrivateNetwork=) is advice about systemd, and an empty value names a
// key without quoting it (`ExecStart=` in a drop-in).
func TestReadmeUnitSettings(t *testing.T) {
	t.Parallel()
	units := map[string]unitFile{}
	for name, text := range packagedUnits(t) {
		u, err := parseUnit(text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		units[name] = u
	}
	// quoted checks the quotations in text against the named units and returns the keys quoted.
	quoted := func(where, text string, names ...string) map[string]bool {
		keys := map[string]bool{}
		for _, m := range unitSettingRE.FindAllStringSubmatch(text, -1) {
			k, v := m[1], m[2]
			known, same := false, false
			for _, name := range names {
				for _, section := range units[name] {
					for _, got := range section[k] {
						known = true
						same = same || got == v
					}
				}
			}
			if v == "" || !known {
				continue
			}
			keys[k] = true
			if !same {
				t.Errorf("README (%s) quotes `%s=%s`; packaging/systemd/%s does not set it so", where, k, v, strings.Join(names, " or "))
			}
		}
		return keys
	}
	keys := quoted(serviceSection, readmeSubsection(t, serviceSection), "teamsface.service")
	for _, k := range []string{"ExecStart", "ExecReload", "EnvironmentFile", "Restart", "RestartPreventExitStatus", "TimeoutStopSec", "User", "StateDirectory", "ProtectSystem"} {
		if !keys[k] {
			t.Errorf("README (%s) does not quote teamsface.service's %s=", serviceSection, k)
		}
	}
	quoted("the whole README", readme(t), slices.Sorted(maps.Keys(units))...)
}

// descName is a metric's name from its description (prometheus.Desc has no getter for it).
var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// The Monitoring section lists every metric teamsface exports and no other, and every kind of
// change a pass counts in teamsface_pass_changes.
func TestReadmeMetrics(t *testing.T) {
	t.Parallel()
	exported := map[string]bool{}
	ch := make(chan *prometheus.Desc, 64)
	(&passCollector{}).Describe(ch)
	close(ch)
	for d := range ch {
		exported[descName.FindStringSubmatch(d.String())[1]] = true
	}
	m := newMonitor(time.Now, "")
	if err := m.record(&services{}, &pass.Report{}, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	text, err := m.exp.text()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, k := range regexp.MustCompile(`(?m)^teamsface_pass_changes\{kind="([a-z_]+)"\}`).FindAllStringSubmatch(string(text), -1) {
		kinds[k[1]] = true
	}
	if len(kinds) == 0 {
		t.Fatalf("no teamsface_pass_changes in\n%s", text)
	}

	documented := map[string]bool{}
	var documentedKinds map[string]bool
	row := regexp.MustCompile("(?m)^\\| (`teamsface_[^|]*)\\|([^\n]*)\\|$")
	span := regexp.MustCompile("`([a-z_]+)(?:\\{[a-z,]+\\})?`")
	for _, r := range row.FindAllStringSubmatch(readmeSection(t, "## Monitoring"), -1) {
		for _, n := range span.FindAllStringSubmatch(r[1], -1) {
			documented[n[1]] = true
			if n[1] == "teamsface_pass_changes" {
				documentedKinds = map[string]bool{}
				for _, k := range span.FindAllStringSubmatch(r[2], -1) {
					documentedKinds[k[1]] = true
				}
			}
		}
	}
	if !maps.Equal(documented, exported) {
		t.Errorf("README's Monitoring lists %v; teamsface exports %v", slices.Sorted(maps.Keys(documented)), slices.Sorted(maps.Keys(exported)))
	}
	if !maps.Equal(documentedKinds, kinds) {
		t.Errorf("README's Monitoring lists the kinds %v of teamsface_pass_changes; a pass reports %v", slices.Sorted(maps.Keys(documentedKinds)), slices.Sorted(maps.Keys(kinds)))
	}
}
