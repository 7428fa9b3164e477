package cmd

import (
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/teamsface/teamsface/mapping"
)

// readme returns README.md.
func readme(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// checkXML says whether text is a well-formed XML document: one root element, and the XML
// declaration, if any, at the very start (encoding/xml does not check that; launchd's parser
// refuses a plist with a comment before it).
func checkXML(text string) error {
	d := xml.NewDecoder(strings.NewReader(text))
	d.Strict = true
	roots, depth := 0, 0
	for {
		offset := d.InputOffset()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.ProcInst:
			if strings.EqualFold(tok.Target, "xml") && offset != 0 {
				return errors.New("the XML declaration is not at the very start of the document")
			}
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && strings.TrimSpace(string(tok)) != "" {
				return errors.New("text outside the root element")
			}
		}
	}
	if roots != 1 {
		return errors.New("not exactly one root element")
	}
	return nil
}

func TestCheckXML(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		doc string
		ok  bool
	}{
		{`<?xml version="1.0"?><!-- c --><a><b/></a>`, true},
		{`<a/>`, true},
		{"<!-- c -->\n<?xml version=\"1.0\"?><a/>", false},
		{"\n<?xml version=\"1.0\"?><a/>", false},
		{`<a/><b/>`, false},
		{`<a><b></a>`, false},
		{`x<a/>`, false},
	} {
		if err := checkXML(tc.doc); (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok=%v", tc.doc, err, tc.ok)
		}
	}
}

// Every ```xml block of the README is copied into a file by someone: each must be well-formed.
func TestReadmeXMLBlocksAreWellFormed(t *testing.T) {
	t.Parallel()
	n := 0
	for _, f := range fences(readme(t)) {
		if f.lang != "xml" {
			continue
		}
		n++
		if err := checkXML(f.body); err != nil {
			t.Errorf("README ```xml block %d: %v:\n%s", n, err, f.body)
		}
	}
	if n == 0 {
		t.Fatal("README has no ```xml block; the launchd plist is gone?")
	}
}

// wellKnownDirs exist on every system the README's commands are meant for.
var wellKnownDirs = map[string]bool{
	"/etc": true, "/etc/systemd/system": true, "/usr/local/bin": true, "/etc/cron.d": true,
	"/Library/LaunchDaemons": true, "/usr/bin": true,
}

// TestReadmeCopiesIntoDirectoriesThatExist follows the README's shell blocks in order: a cp or
// install into a system directory must come after the command that creates it (the quick start's
// "cp ... /etc/teamsface/" failed on a fresh machine).
func TestReadmeCopiesIntoDirectoriesThatExist(t *testing.T) {
	t.Parallel()
	made := map[string]bool{}
	copies := 0
	for _, f := range fences(readme(t)) {
		if f.lang != "sh" {
			continue
		}
		for _, line := range strings.Split(strings.ReplaceAll(f.body, "\\\n", " "), "\n") {
			if strings.Contains(line, "install ./teamsface") {
				// A package: what .goreleaser.yaml puts in it exists from now on.
				for d := range packageDirs(t) {
					made[d] = true
				}
			}
			if i := strings.Index(line, "#"); i >= 0 {
				line = line[:i]
			}
			words := strings.Fields(line)
			if len(words) > 0 && words[0] == "sudo" {
				words = words[1:]
			}
			if len(words) < 2 || (words[0] != "cp" && words[0] != "install" && words[0] != "mkdir") {
				continue
			}
			var args []string
			dirMode := words[0] == "mkdir"
			for i := 1; i < len(words); i++ {
				switch w := words[i]; {
				case w == "-d" || w == "-p":
					dirMode = true
				case w == "-m" || w == "-o" || w == "-g":
					i++ // the option's value
				case strings.HasPrefix(w, "-"):
				default:
					args = append(args, w)
				}
			}
			if dirMode {
				for _, d := range args {
					made[filepath.Clean(d)] = true
				}
				continue
			}
			if len(args) < 2 {
				continue
			}
			dest := args[len(args)-1]
			dir := filepath.Dir(dest)
			if strings.HasSuffix(dest, "/") {
				dir = filepath.Clean(dest)
			}
			if !strings.HasPrefix(dir, "/") {
				continue // relative to wherever the reader is
			}
			copies++
			if !made[dir] && !wellKnownDirs[dir] {
				t.Errorf("README: %q copies into %s, which no earlier command creates", strings.TrimSpace(line), dir)
			}
		}
	}
	if copies == 0 {
		t.Fatal("found no cp or install into a system directory in the README")
	}
}

// packagedUnits returns packaging/systemd's unit files by name.
func packagedUnits(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "packaging", "systemd", "*"))
	if err != nil {
		t.Fatal(err)
	}
	units := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		units[filepath.Base(p)] = string(data)
	}
	for _, name := range []string{"teamsface.service", "teamsface-once.service", "teamsface.timer", "teamsface@.service"} {
		if _, ok := units[name]; !ok {
			t.Errorf("packaging/systemd/%s is missing", name)
		}
	}
	return units
}

// The README shows the unit files the packages install, whole or by their path: an admin copying
// a unit from the README gets the bytes that ship, and every unit that ships is named there.
func TestReadmeUnitsAreThePackagedFiles(t *testing.T) {
	t.Parallel()
	files := packagedUnits(t)
	shown := readmeUnits(t)
	text := readme(t)
	for name, file := range files {
		got, ok := shown[name]
		switch {
		case !ok && !strings.Contains(text, "packaging/systemd/"+name):
			t.Errorf("README neither shows packaging/systemd/%s (an ```ini block starting with \"# %s\") nor names it", name, name)
		case ok && got != file:
			t.Errorf("README's %s differs from packaging/systemd/%s", name, name)
		}
	}
	for name := range shown {
		if _, ok := files[name]; !ok {
			t.Errorf("README shows %s, which is not in packaging/systemd/", name)
		}
	}
}

func TestPackagedUnits(t *testing.T) {
	t.Parallel()
	files := packagedUnits(t)
	for name, text := range files {
		if !strings.HasPrefix(text, "# "+name+"\n") {
			t.Errorf("%s does not start with \"# %s\"", name, name)
		}
		u, err := parseUnit(text)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.HasSuffix(name, ".service") {
			continue
		}
		for k, v := range hardening {
			if got, _ := u.get("Service", k); got != v {
				t.Errorf("%s: %s=%s, want %q", name, k, got, v)
			}
		}
		if _, dyn := u.get("Service", "DynamicUser"); dyn {
			t.Errorf("%s: DynamicUser= with the packages' static teamsface user", name)
		}
		start, _ := u.get("Service", "ExecStart")
		stateDir, configDir, metrics := "/var/lib/teamsface", "/etc/teamsface", "/run/teamsface/teamsface.prom"
		if strings.Contains(name, "@") {
			// One configuration, state directory and metrics file per instance.
			stateDir, configDir, metrics = "/var/lib/teamsface/%i", "/etc/teamsface/%i", "/run/teamsface/%i.prom"
			if sd, _ := u.get("Service", "StateDirectory"); sd != "teamsface/%i" {
				t.Errorf("%s: StateDirectory=%s, want teamsface/%%i", name, sd)
			}
			if env, _ := u.get("Service", "EnvironmentFile"); env != "-/etc/teamsface/%i/env" {
				t.Errorf("%s: EnvironmentFile=%s, want the instance's own", name, env)
			}
		} else if sd, _ := u.get("Service", "StateDirectory"); sd != "teamsface" {
			t.Errorf("%s: StateDirectory=%s, want teamsface", name, sd)
		}
		for _, want := range []string{"--state-dir " + stateDir + " ", "--config " + configDir + "/mapping.yaml ", "--metrics-file " + metrics} {
			if !strings.Contains(start+" ", want) {
				t.Errorf("%s: ExecStart=%s lacks %q", name, start, want)
			}
		}
		args, err := invocationArgs(strings.ReplaceAll(start, "%i", "pbx1"))
		if err != nil {
			t.Errorf("%s: ExecStart=%s: %v", name, start, err)
			continue
		}
		if err := checkCommandLine(args); err != nil {
			t.Errorf("%s: ExecStart=%s: %v", name, start, err)
		}
	}
	verifyWithSystemd(t, files)
}

// goreleaserConfig is the part of .goreleaser.yaml the tests look at.
type goreleaserConfig struct {
	Version int `yaml:"version"`
	Before  struct {
		Hooks []string `yaml:"hooks"`
	} `yaml:"before"`
	Builds []struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Ldflags []string `yaml:"ldflags"`
		Targets []string `yaml:"targets"`
	} `yaml:"builds"`
	Archives []struct {
		Formats         []string `yaml:"formats"`
		FormatOverrides []struct {
			Goos    string   `yaml:"goos"`
			Formats []string `yaml:"formats"`
		} `yaml:"format_overrides"`
		Files []any `yaml:"files"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
	} `yaml:"checksum"`
	Nfpms []struct {
		Formats  []string `yaml:"formats"`
		Bindir   string   `yaml:"bindir"`
		License  string   `yaml:"license"`
		Contents []struct {
			Src      string `yaml:"src"`
			Dst      string `yaml:"dst"`
			Type     string `yaml:"type"`
			Packager string `yaml:"packager"`
			FileInfo struct {
				Mode  int    `yaml:"mode"`
				Owner string `yaml:"owner"`
				Group string `yaml:"group"`
			} `yaml:"file_info"`
		} `yaml:"contents"`
		Scripts map[string]string `yaml:"scripts"`
	} `yaml:"nfpms"`
}

func readGoreleaser(t *testing.T) goreleaserConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c goreleaserConfig
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	return c
}

// packageDirs are the directories the packages create.
func packageDirs(t *testing.T) map[string]bool {
	dirs := map[string]bool{}
	for _, n := range readGoreleaser(t).Nfpms {
		for _, c := range n.Contents {
			if c.Type == "dir" {
				dirs[c.Dst] = true
			} else if strings.HasSuffix(c.Dst, "/") {
				dirs[filepath.Clean(c.Dst)] = true
			} else if c.Dst != "" {
				dirs[filepath.Dir(c.Dst)] = true
			}
		}
	}
	return dirs
}

// TestGoreleaserConfig checks what the release promises; .ci/run's `goreleaser check` and snapshot
// build check that goreleaser accepts it.
func TestGoreleaserConfig(t *testing.T) {
	t.Parallel()
	c := readGoreleaser(t)
	if c.Version != 2 {
		t.Errorf("version: %d, want 2 (goreleaser v2 schema)", c.Version)
	}
	if len(c.Builds) != 1 {
		t.Fatalf("%d builds, want 1", len(c.Builds))
	}
	b := c.Builds[0]
	want := map[string]bool{"linux_amd64": true, "linux_arm64": true, "windows_amd64": true, "darwin_amd64": true, "darwin_arm64": true}
	for _, tg := range b.Targets {
		if !want[tg] {
			t.Errorf("unexpected target %s", tg)
		}
		delete(want, tg)
	}
	for tg := range want {
		t.Errorf("no build for %s", tg)
	}
	flags := strings.Join(b.Ldflags, " ")
	for _, v := range []string{"version={{.Version}}", "commit={{.FullCommit}}", "commitTime={{.CommitDate}}"} {
		if !strings.Contains(flags, "-X github.com/teamsface/teamsface/cmd."+v) {
			t.Errorf("ldflags %q do not stamp cmd.%s", flags, v)
		}
	}
	if c.Checksum.NameTemplate != "SHA256SUMS" || c.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum: %+v, want SHA256SUMS with sha256", c.Checksum)
	}
	if len(c.Archives) != 1 || len(c.Archives[0].FormatOverrides) != 1 || c.Archives[0].FormatOverrides[0].Goos != "windows" {
		t.Errorf("archives: %+v, want tar.gz with zip for windows", c.Archives)
	}
	// The manual pages name the release's version (issue 19: "teamsface devel") and its commit's
	// date, and are where the archives and packages take them from.
	hooks := strings.Join(c.Before.Hooks, "\n")
	if !strings.Contains(hooks, `env SOURCE_DATE_EPOCH={{ .CommitTimestamp }} go run -trimpath -ldflags "-X github.com/teamsface/teamsface/cmd.version={{ .Version }}" . man --dir build/manpages`) {
		t.Errorf("before hooks do not write the manual pages with the release's version and date: %q", hooks)
	}

	if len(c.Nfpms) != 1 {
		t.Fatalf("%d nfpms, want 1", len(c.Nfpms))
	}
	n := c.Nfpms[0]
	if strings.Join(n.Formats, ",") != "deb,rpm" || n.Bindir != "/usr/bin" || n.License != "Apache-2.0" {
		t.Errorf("nfpms: formats %v, bindir %s, license %s", n.Formats, n.Bindir, n.License)
	}
	dsts := map[string]string{}
	for _, ct := range n.Contents {
		dsts[ct.Dst] = ct.Src
		switch {
		case ct.Type == "dir":
		case strings.HasPrefix(ct.Src, "build/"):
			// written by a before hook
		default:
			if _, err := os.Stat(filepath.Join("..", ct.Src)); err != nil {
				t.Errorf("nfpms content %s: %v", ct.Src, err)
			}
		}
		switch ct.Dst {
		case "/etc/teamsface":
			if ct.Type != "dir" || ct.FileInfo.Mode != 0o750 || ct.FileInfo.Owner != "root" || ct.FileInfo.Group != "teamsface" {
				t.Errorf("/etc/teamsface: %+v, want a directory 0750 root:teamsface", ct)
			}
		case "/var/lib/teamsface":
			if ct.Type != "dir" || ct.FileInfo.Mode != 0o700 || ct.FileInfo.Owner != "teamsface" || ct.FileInfo.Group != "teamsface" {
				t.Errorf("/var/lib/teamsface: %+v, want a directory 0700 teamsface:teamsface", ct)
			}
		}
	}
	for _, d := range []string{"/etc/teamsface", "/var/lib/teamsface"} {
		if _, ok := dsts[d]; !ok {
			t.Errorf("the packages do not create %s", d)
		}
	}
	// Gzipped, as Debian policy wants, in their sections; Windows-only pages are never written.
	for dst, src := range map[string]string{"/usr/share/man/man1/": "build/manpages/man1/*.1.gz", "/usr/share/man/man5/": "build/manpages/man5/*.5.gz"} {
		if dsts[dst] != src {
			t.Errorf("the packages install %q into %s; want %s", dsts[dst], dst, src)
		}
	}
	// The example configuration and the JSON Schema it names, side by side.
	for dst, src := range map[string]string{"/usr/share/teamsface/mapping.example.yaml": "mapping.example.yaml",
		"/usr/share/teamsface/mapping.schema.json": "mapping/mapping.schema.json"} {
		if dsts[dst] != src {
			t.Errorf("the packages install %q as %s; want %s", dsts[dst], dst, src)
		}
	}
	for name := range packagedUnits(t) {
		if dsts["/usr/lib/systemd/system/"+name] != "packaging/systemd/"+name {
			t.Errorf("the packages do not install packaging/systemd/%s into /usr/lib/systemd/system", name)
		}
	}
	for _, k := range []string{"preinstall", "postinstall", "preremove", "postremove"} {
		p := n.Scripts[k]
		if p != "packaging/scripts/"+k+".sh" {
			t.Errorf("nfpms scripts.%s = %q", k, p)
			continue
		}
		data, err := os.ReadFile(filepath.Join("..", p))
		if err != nil || !strings.HasPrefix(string(data), "#!/bin/sh\n") {
			t.Errorf("%s: %v; want a /bin/sh script", p, err)
		}
	}
}

// scriptRun is one run of a package script in a fake root.
type scriptRun struct {
	root   string
	log    []string // the stubbed commands called, in order, with their arguments
	stderr string
	code   int
}

// runScript runs packaging/scripts/NAME.sh as dpkg or rpm would, with every system path it names
// moved below a temporary root and the commands that change the system (systemctl, useradd,
// chown, runuser, teamsface, ...) replaced by stubs that record their arguments. setup prepares the
// fake root; env adds variables for the stubs (TEAMSFACE_STUB_EXIT, GETENT_EXIT).
func runScript(t *testing.T, name string, setup func(root string), env []string, args ...string) scriptRun {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	data, err := os.ReadFile(filepath.Join("..", "packaging", "scripts", name+".sh"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	text := string(data)
	for _, p := range []string{"/etc/teamsface", "/var/lib/teamsface", "/run/systemd/system", "/etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
		text = strings.ReplaceAll(text, p, root+p)
	}
	bin := filepath.Join(root, "bin")
	text = strings.ReplaceAll(text, "/usr/bin/teamsface", filepath.Join(bin, "teamsface"))
	if setup != nil {
		setup(root)
	}
	logFile := filepath.Join(root, "log")
	stubs := map[string]string{
		// systemctl --version says SYSTEMD_VERSION when set.
		"systemctl": `[ "$1" = --version ] && [ -n "$SYSTEMD_VERSION" ] && echo "systemd $SYSTEMD_VERSION (stub)"; exit 0`,
		"getent":    `exit "${GETENT_EXIT:-0}"`, "groupadd": "", "useradd": "", "chown": "", "chmod": "",
		// runuser -u USER -- CMD...: runs CMD (the environment passes through, as with runuser).
		"runuser": `while [ "$1" != -- ]; do shift; done; shift; exec "$@"`,
		"timeout": `shift; exec "$@"`,
		// teamsface logs its secret and leaves its whole environment in LOG.env.
		"teamsface": `echo "  secret=$TEAMSFACE_CLIENT_SECRET" >> "$LOG"; env -0 > "$LOG.env"; exit "${TEAMSFACE_STUB_EXIT:-0}"`,
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, body := range stubs {
		stub := "#!/bin/sh\necho \"" + n + " $*\" >> \"$LOG\"\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(bin, n), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(root, name+".sh")
	if err := os.WriteFile(script, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, append([]string{script}, args...)...)
	cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "LOG=" + logFile}, env...)
	var errb strings.Builder
	cmd.Stderr = &errb
	err = cmd.Run()
	r := scriptRun{root: root, stderr: strings.ReplaceAll(errb.String(), root, "")}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	logged, _ := os.ReadFile(logFile)
	for _, l := range strings.Split(strings.TrimSpace(strings.ReplaceAll(string(logged), root, "")), "\n") {
		if l != "" {
			r.log = append(r.log, l)
		}
	}
	return r
}

func (r scriptRun) logged(prefix string) int {
	for i, l := range r.log {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}

// writeFiles writes path → content below root (0600, directories 0755).
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for f, content := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// heldState is a state.json that remembers a DND teamsface switched on; releasedState is what a
// complete release leaves.
const (
	heldState     = `{"version":2,"users":{"0002":{"id":2,"applied":"dnd-on","written":true,"owned":true}}}`
	releasedState = `{"version":2,"users":{}}`
)

// The package's removal gives every phone back before teamsface goes: `teamsface release` for the
// main configuration and each instance, as the teamsface user, with the env file's secrets, after
// every unit is stopped and disabled.
func TestPreremoveReleases(t *testing.T) {
	t.Parallel()
	configs := func(root string) {
		writeFiles(t, root, map[string]string{
			"etc/teamsface/mapping.yaml": "x", "etc/teamsface/pbx1/mapping.yaml": "x",
			"etc/teamsface/env": "TEAMSFACE_CLIENT_SECRET=s1\n",
			// An instance enabled without a configuration directory of its name.
			"etc/systemd/system/multi-user.target.wants/teamsface@pbx9.service": "",
		})
	}
	const main = "teamsface release --config /etc/teamsface/mapping.yaml --state-dir /var/lib/teamsface"
	const pbx1 = "teamsface release --config /etc/teamsface/pbx1/mapping.yaml --state-dir /var/lib/teamsface/pbx1"
	units := []string{"teamsface.timer", "teamsface-once.service", "teamsface.service", "teamsface@pbx1.service", "teamsface@pbx9.service"}
	for _, arg := range []string{"remove", "0"} { // dpkg prerm remove; rpm %preun on erase
		r := runScript(t, "preremove", configs, nil, arg)
		rel, inst := r.logged(main), r.logged(pbx1)
		if r.code != 0 || rel < 0 || inst < 0 || r.logged("runuser -u teamsface -- ") < 0 {
			t.Errorf("preremove %s: exit %d, log:\n%s", arg, r.code, strings.Join(r.log, "\n"))
		}
		for _, u := range units {
			// Disabled, or its link dangles once the file is gone; stopped before the release,
			// or it holds the state lock the release needs.
			if d, st := r.logged("systemctl disable "+u), r.logged("systemctl stop "+u); d < 0 || st < 0 || st > rel {
				t.Errorf("preremove %s: %s disabled at %d, stopped at %d, released at %d:\n%s", arg, u, d, st, rel, strings.Join(r.log, "\n"))
			}
		}
		if rel >= 0 && (rel+1 >= len(r.log) || r.log[rel+1] != "  secret=s1") {
			t.Errorf("preremove %s: the release did not get the env file's secret:\n%s", arg, strings.Join(r.log, "\n"))
		}
	}
	// Without a running systemd (a chroot, a container) the units are disabled all the same, and
	// nothing is stopped.
	r := runScript(t, "preremove", func(root string) {
		configs(root)
		if err := os.RemoveAll(filepath.Join(root, "run/systemd/system")); err != nil {
			t.Fatal(err)
		}
	}, nil, "remove")
	if r.code != 0 || r.logged("systemctl disable teamsface.service") < 0 || r.logged("systemctl disable teamsface@pbx1.service") < 0 || r.logged("systemctl stop") >= 0 {
		t.Errorf("preremove without a running systemd: exit %d, log:\n%s", r.code, strings.Join(r.log, "\n"))
	}
	// An upgrade releases nothing and stops nothing.
	for _, arg := range []string{"upgrade", "1", "failed-upgrade"} {
		if r := runScript(t, "preremove", configs, nil, arg); r.code != 0 || len(r.log) != 0 {
			t.Errorf("preremove %s: exit %d, log %q; want nothing done", arg, r.code, r.log)
		}
	}
	// Without a configuration there is nothing to release.
	if r := runScript(t, "preremove", nil, nil, "remove"); r.code != 0 || r.logged("teamsface release") >= 0 || r.stderr != "" {
		t.Errorf("preremove without a configuration: exit %d, log %q, stderr %q", r.code, r.log, r.stderr)
	}
}

// A release that fails does not fail the removal. When the state still remembers something, the
// removal says so and marks the state, so that a purge keeps it; when it remembers nothing, it
// says that instead and marks nothing. A successful release removes an earlier mark.
func TestPreremoveFailedRelease(t *testing.T) {
	t.Parallel()
	const mark = "var/lib/teamsface/RELEASE-FAILED"
	for _, tc := range []struct {
		name   string
		files  map[string]string
		exit   string
		marked bool
		stderr []string // what stderr says, in order
	}{
		{"some users failed", map[string]string{"var/lib/teamsface/state.json": heldState}, "3", true,
			[]string{"release for /etc/teamsface/mapping.yaml failed (some users, or writes of an earlier run, could not be released)", "may still be on it", "kept, also on purge", "install teamsface again and remove it again"}},
		{"sign-in failed", map[string]string{"var/lib/teamsface/state.json": heldState}, "4", true,
			[]string{"(sign-in or a permission failed)"}},
		{"a journal left", map[string]string{"var/lib/teamsface/state.json": releasedState, "var/lib/teamsface/journal": "{}\n"}, "1", true,
			[]string{"failed (exit 1)"}},
		{"an empty state", map[string]string{"var/lib/teamsface/state.json": releasedState}, "4", false,
			[]string{"failed (sign-in or a permission failed), but /var/lib/teamsface remembers no DND, Teams session or redirect teamsface set"}},
		{"no state yet", nil, "2", false, []string{"failed (a configuration error), but"}},
		{"an old mark, released now", map[string]string{"var/lib/teamsface/state.json": heldState, mark: "old\n"}, "0", false, nil},
		{"an old mark, nothing held", map[string]string{"var/lib/teamsface/state.json": releasedState, mark: "old\n"}, "2", false, []string{"remembers no DND"}},
	} {
		r := runScript(t, "preremove", func(root string) {
			writeFiles(t, root, map[string]string{"etc/teamsface/mapping.yaml": "x"})
			writeFiles(t, root, tc.files)
		}, []string{"TEAMSFACE_STUB_EXIT=" + tc.exit}, "remove")
		_, err := os.Stat(filepath.Join(r.root, mark))
		if r.code != 0 || (err == nil) != tc.marked {
			t.Errorf("%s: exit %d, marked: %v; want 0 and marked %v", tc.name, r.code, err == nil, tc.marked)
		}
		rest := r.stderr
		for _, want := range tc.stderr {
			i := strings.Index(rest, want)
			if i < 0 {
				t.Errorf("%s: stderr lacks %q (in order):\n%s", tc.name, want, r.stderr)
				break
			}
			rest = rest[i+len(want):]
		}
		if tc.stderr == nil && r.stderr != "" {
			t.Errorf("%s: stderr %q", tc.name, r.stderr)
		}
		if strings.Contains(r.stderr, "retried next pass") {
			t.Errorf("%s: stderr speaks of a next pass during an uninstall:\n%s", tc.name, r.stderr)
		}
	}
	// An instance whose configuration is gone, with a state that remembers a DND, is marked.
	r := runScript(t, "preremove", func(root string) {
		writeFiles(t, root, map[string]string{"var/lib/teamsface/pbx2/state.json": heldState})
	}, nil, "remove")
	if _, err := os.Stat(filepath.Join(r.root, "var/lib/teamsface/pbx2/RELEASE-FAILED")); err != nil || !strings.Contains(r.stderr, "/etc/teamsface/pbx2/mapping.yaml failed (the file is gone)") {
		t.Errorf("an instance without its configuration: marked: %v, stderr:\n%s", err, r.stderr)
	}
}

// The release at removal gets the variables of /etc/teamsface/env as systemd gives them to the
// service: the file is read, never run or expanded (issue 19: it was sourced with ".", as root,
// so a password with $ or a backquote was expanded, or run). Each case's values were checked
// against systemd 252's own parser of such files.
func TestPreremoveReadsTheEnvFileAsSystemdDoes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		systemd    string // what systemctl --version says; "" for nothing (no systemctl)
		want       map[string]string
		warnings   []string
	}{
		{name: "plain", file: "A=plain\n", want: map[string]string{"A": "plain"}},
		{name: "dollar and backquotes", file: "B=$HOME`touch PWNED`$(touch PWNED)\n", want: map[string]string{"B": "$HOME`touch PWNED`$(touch PWNED)"}},
		{name: "a password as it is", file: "TEAMSFACE_CLIENT_SECRET=p@ss$w0rd`rm -rf PWNED`;echo \"x\" 'y'\n",
			want: map[string]string{"TEAMSFACE_CLIENT_SECRET": "p@ss$w0rd`rm -rf PWNED`;echo \"x\" 'y'"}},
		{name: "single quotes", file: "C='single $x \\\\ \"q\"'\n", want: map[string]string{"C": `single $x \\ "q"`}},
		{name: "double quotes", file: `D="dq \$x \\$y \` + "`" + ` \\\\ \n end"` + "\n", want: map[string]string{"D": `dq $x \$y ` + "`" + ` \\ \n end`}},
		{name: "comments and blanks", file: "  # comment\n; comment\n\nE = spaced value   \n", want: map[string]string{"E": "spaced value"}},
		{name: "continued line", file: "F=a\\\nb\n", want: map[string]string{"F": "ab"}},
		{name: "multi-line quote", file: "G=\"multi\nline\"\n", want: map[string]string{"G": "multi\nline"}},
		{name: "quotes inside a value", file: "H=x'y'\n", want: map[string]string{"H": "x'y'"}},
		{name: "quoted parts joined", file: "I='a'b\"c\"\nP=  'x'  'y'  \n", want: map[string]string{"I": `ab"c"`, "P": "xy"}},
		{name: "empty", file: "J=\nZ=\"\" \n", want: map[string]string{"J": "", "Z": ""}},
		{name: "no equals sign", file: "noequals\nK=tab\there\t \n", want: map[string]string{"K": "tab\there"}},
		{name: "no final newline", file: "L=last", want: map[string]string{"L": "last"}},
		{name: "unterminated quote", file: "M='unterminated\nN=2\n", want: map[string]string{"M": "unterminated\nN=2\n"}},
		{name: "escaped trailing blank", file: "O=a\\ \n", want: map[string]string{"O": "a "}},
		{name: "comment characters inside", file: "Q=a#b ;c\n", want: map[string]string{"Q": "a#b ;c"}},
		{name: "continued double quote", file: "R=\"a\\\nb\"\n", want: map[string]string{"R": "ab"}},
		{name: "carriage returns", file: "S=x\r\nT=y\r\n", want: map[string]string{"S": "x", "T": "y"}},
		{name: "equals signs in the value", file: "V=a=b=c\n", want: map[string]string{"V": "a=b=c"}},
		{name: "escaped quotes", file: "W=\\'x\\'\nX=\"\\q\"\n", want: map[string]string{"W": "'x'", "X": `\q`}},
		{name: "inner blanks kept", file: "Y=a  b\nAB='  sp  '\n", want: map[string]string{"Y": "a  b", "AB": "  sp  "}},
		{name: "the last wins", file: "AA=x\nAA=y\n", want: map[string]string{"AA": "y"}},
		{name: "a backslash", file: "AC=\\\\\n", want: map[string]string{"AC": `\`}},
		// Names the script itself uses change neither the command nor its arguments.
		{name: "the script's own names", file: "config=/elsewhere\nstate=/x\ntimeout_cmd=/bin/false\nrunuser_cmd=/bin/false\nenv=/y\n",
			want: map[string]string{"config": "/elsewhere", "state": "/x", "timeout_cmd": "/bin/false", "runuser_cmd": "/bin/false", "env": "/y"}},
		{name: "not variable names", file: "bad key=1\n1X=2\nOK=3\n", want: map[string]string{"OK": "3"},
			warnings: []string{"/etc/teamsface/env line 1: not a variable name", "/etc/teamsface/env line 2: not a variable name"}},
		// systemd before 254 continues a comment that ends in a backslash; 254 and later do not.
		{name: "comment continued, systemd 252", file: "#c\\\nU=1\nOK=2\n", systemd: "252", want: map[string]string{"OK": "2"}},
		{name: "comment not continued, systemd 255", file: "#c\\\nU=1\n", systemd: "255", want: map[string]string{"U": "1"}},
	} {
		r := runScript(t, "preremove", func(root string) {
			writeFiles(t, root, map[string]string{"etc/teamsface/mapping.yaml": "x", "etc/teamsface/env": strings.ReplaceAll(tc.file, "PWNED", filepath.Join(root, "pwned"))})
		}, []string{"SYSTEMD_VERSION=" + tc.systemd}, "remove")
		if _, err := os.Stat(filepath.Join(r.root, "pwned")); err == nil {
			t.Errorf("%s: the env file ran a command", tc.name)
		}
		if r.logged("teamsface release --config /etc/teamsface/mapping.yaml --state-dir /var/lib/teamsface") < 0 {
			t.Errorf("%s: not the release of the main configuration:\n%s", tc.name, strings.Join(r.log, "\n"))
		}
		data, err := os.ReadFile(filepath.Join(r.root, "log.env"))
		if err != nil {
			t.Errorf("%s: teamsface release did not run: %v; stderr:\n%s", tc.name, err, r.stderr)
			continue
		}
		got := map[string]string{}
		for kv := range strings.SplitSeq(strings.TrimSuffix(string(data), "\x00"), "\x00") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "PATH", "LOG", "PWD", "SHLVL", "_", "SYSTEMD_VERSION", "OLDPWD":
				continue // the environment the script ran in
			}
			got[k] = strings.ReplaceAll(v, filepath.Join(r.root, "pwned"), "PWNED")
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: %q gave the release\n%q, want\n%q", tc.name, tc.file, got, tc.want)
		}
		var warnings []string
		for l := range strings.Lines(r.stderr) {
			warnings = append(warnings, l)
		}
		if len(warnings) != len(tc.warnings) {
			t.Errorf("%s: stderr %q, want %d warnings", tc.name, r.stderr, len(tc.warnings))
		}
		for i, w := range tc.warnings {
			if i < len(warnings) && !strings.Contains(warnings[i], w) {
				t.Errorf("%s: warning %q, want %q", tc.name, warnings[i], w)
			}
		}
	}
}

func TestPreinstallCreatesTheUserOnce(t *testing.T) {
	t.Parallel()
	r := runScript(t, "preinstall", nil, []string{"GETENT_EXIT=2"}, "install")
	if r.code != 0 || r.logged("groupadd --system teamsface") < 0 || r.logged("useradd --system --gid teamsface --home-dir /var/lib/teamsface --no-create-home") < 0 {
		t.Errorf("preinstall on a new system: exit %d, log %q", r.code, r.log)
	}
	if i := r.logged("useradd"); i >= 0 && !strings.HasSuffix(r.log[i], " teamsface") {
		t.Errorf("useradd does not create teamsface: %s", r.log[i])
	} else if i >= 0 && strings.Contains(r.log[i], ":") {
		// /etc/passwd separates its fields with colons; useradd refuses one in the comment.
		t.Errorf("useradd's arguments contain a colon: %s", r.log[i])
	}
	r = runScript(t, "preinstall", nil, nil, "upgrade")
	if r.code != 0 || r.logged("groupadd") >= 0 || r.logged("useradd") >= 0 {
		t.Errorf("preinstall with the user there: exit %d, log %q", r.code, r.log)
	}
}

func TestPostinstallAndPostremove(t *testing.T) {
	t.Parallel()
	r := runScript(t, "postinstall", nil, nil, "configure")
	for _, want := range []string{"chown root:teamsface /etc/teamsface", "chmod 0750 /etc/teamsface",
		"chown teamsface:teamsface /var/lib/teamsface", "chmod 0700 /var/lib/teamsface", "systemctl daemon-reload"} {
		if r.logged(want) < 0 {
			t.Errorf("postinstall configure: no %q in %q", want, r.log)
		}
	}
	if r.code != 0 || r.logged("systemctl enable") >= 0 || r.logged("systemctl start") >= 0 || r.logged("systemctl try-restart") >= 0 {
		t.Errorf("a first install must not enable, start or restart anything: exit %d, log %q", r.code, r.log)
	}
	for _, args := range [][]string{{"configure", "0.1.0"}, {"2"}} {
		if r := runScript(t, "postinstall", nil, nil, args...); r.code != 0 || r.logged("systemctl try-restart teamsface.service teamsface@*.service") < 0 {
			t.Errorf("postinstall %v (an upgrade): exit %d, log %q; want running services restarted", args, r.code, r.log)
		}
	}
}

// What a removal keeps and says: deb's purge deletes the state unless a release failed (then it
// keeps the state and the configuration, and says why, from preremove's mark); the configuration
// the admin wrote, secrets included, stays with a word; rpm's erase (0) has no purge and says what
// it kept.
func TestPostremove(t *testing.T) {
	t.Parallel()
	const mark = "the release for /etc/teamsface/pbx1/mapping.yaml failed before teamsface was removed: some users could not be released\n"
	for _, tc := range []struct {
		name, arg       string
		files           map[string]string
		stateKept       bool
		stderr, without []string
	}{
		{name: "purge", arg: "purge", files: map[string]string{"var/lib/teamsface/state.json": releasedState},
			without: []string{"keeping", "/etc/teamsface"}},
		{name: "purge with a configuration", arg: "purge", files: map[string]string{"etc/teamsface/mapping.yaml": "x", "etc/teamsface/env": "X=1\n"},
			stderr: []string{"kept /etc/teamsface: your configuration and secrets are in it", "rm -r /etc/teamsface"}},
		{name: "purge after a failed release", arg: "purge", stateKept: true,
			files:   map[string]string{"var/lib/teamsface/pbx1/state.json": heldState, "var/lib/teamsface/pbx1/RELEASE-FAILED": mark, "etc/teamsface/pbx1/mapping.yaml": "x"},
			stderr:  []string{"keeping /var/lib/teamsface and /etc/teamsface: a release failed", "  " + strings.TrimSuffix(mark, "\n"), "install\n  teamsface again and remove it again"},
			without: []string{"knows which phones"}},
		{name: "rpm erase", arg: "0", stateKept: true, files: map[string]string{"var/lib/teamsface/state.json": releasedState, "etc/teamsface/mapping.yaml": "x"},
			stderr: []string{"kept /var/lib/teamsface", "kept /etc/teamsface"}},
		{name: "rpm erase after a failed release", arg: "0", stateKept: true,
			files:  map[string]string{"var/lib/teamsface/RELEASE-FAILED": mark},
			stderr: []string{"keeping /var/lib/teamsface and /etc/teamsface: a release failed"}, without: []string{"delete it if you like"}},
		{name: "deb remove", arg: "remove", stateKept: true, files: map[string]string{"etc/teamsface/mapping.yaml": "x"}, without: []string{"teamsface"}},
		{name: "deb upgrade", arg: "upgrade", stateKept: true, files: map[string]string{"var/lib/teamsface/RELEASE-FAILED": mark}, without: []string{"teamsface"}},
	} {
		r := runScript(t, "postremove", func(root string) { writeFiles(t, root, tc.files) }, nil, tc.arg)
		_, err := os.Stat(filepath.Join(r.root, "var/lib/teamsface"))
		if r.code != 0 || (err == nil) != tc.stateKept {
			t.Errorf("%s: exit %d, state directory kept: %v; want 0, %v", tc.name, r.code, err == nil, tc.stateKept)
		}
		if _, err := os.Stat(filepath.Join(r.root, "etc/teamsface")); err != nil {
			t.Errorf("%s: /etc/teamsface is gone: %v", tc.name, err)
		}
		for _, want := range tc.stderr {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.name, want, r.stderr)
			}
		}
		for _, not := range tc.without {
			if strings.Contains(r.stderr, not) {
				t.Errorf("%s: stderr says %q:\n%s", tc.name, not, r.stderr)
			}
		}
	}
}

// stateDirs are the state directories the README documents: one per installation kind, and one
// per instance below it. A command with any other (or none, so the per-user default) would not
// know which DND the service switched on, and never release them (issue 14, defect 2).
var stateDirRE = regexp.MustCompile(`^(/var/lib/teamsface(/[a-z0-9-]+)?|C:\\ProgramData\\teamsface(\\[a-z0-9-]+)?\\state|/usr/local/var/teamsface)$`)

// statefulCommands read or write the state directory.
var statefulCommands = map[string]bool{"login": true, "logout": true, "users": true, "presence": true, "sync": true, "release": true, "service": true}

func TestReadmeCommandsUseTheDocumentedStateDirectory(t *testing.T) {
	t.Parallel()
	checked := 0
	plistArgs := regexp.MustCompile(`(?s)<key>ProgramArguments</key>\s*<array>(.*?)</array>`)
	plistString := regexp.MustCompile(`<string>([^<]*)</string>`)
	for _, f := range fences(readme(t)) {
		var lines [][]string
		switch f.lang {
		case "ini", "yaml":
			continue // unit files: TestPackagedUnits
		case "xml":
			if m := plistArgs.FindStringSubmatch(f.body); m != nil {
				var args []string
				for _, s := range plistString.FindAllStringSubmatch(m[1], -1) {
					args = append(args, s[1])
				}
				lines = append(lines, args[1:])
			}
		default:
			lines = invocations(strings.ReplaceAll(f.body, "\\\n", " "))
		}
		envDir := regexp.MustCompile(`(?m)^TEAMSFACE_STATE_DIR=(\S+)$`).FindStringSubmatch(f.body)
		for _, args := range lines {
			if len(args) == 0 || !statefulCommands[args[0]] || (len(args) > 1 && args[0] == "service" && args[1] != "install") {
				continue
			}
			checked++
			dir := ""
			if i := slices.Index(args, "--state-dir"); i >= 0 && i+1 < len(args) {
				dir = args[i+1]
			} else if envDir != nil {
				dir = envDir[1]
			}
			if !stateDirRE.MatchString(dir) {
				t.Errorf("README: teamsface %s: state directory %q; every documented command names the installation's one state directory", strings.Join(args, " "), dir)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d commands", checked)
	}
}

// moreHardening is what `systemd-analyze security` still suggested (issue 19) and costs teamsface
// nothing; each service carries it besides hardening.
var moreHardening = map[string]string{
	"PrivateMounts": "yes", "ProtectKernelLogs": "yes", "ProtectClock": "yes", "ProtectHostname": "yes",
	"ProtectProc": "invisible", "RestrictSUIDSGID": "yes", "RestrictRealtime": "yes", "RemoveIPC": "yes",
	"SystemCallErrorNumber": "EPERM", "SystemCallArchitectures": "native",
}

// unitExposure is the overall exposure `systemd-analyze security` gives the services, times 10
// (its --threshold's unit): 2.4 before issue 19, 1.2 after.
const unitExposure = 12

func TestUnitHardening(t *testing.T) {
	t.Parallel()
	units := packagedUnits(t)
	for name, text := range units {
		if !strings.HasSuffix(name, ".service") {
			continue
		}
		u, err := parseUnit(text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, v := range moreHardening {
			if got, _ := u.get("Service", k); got != v {
				t.Errorf("%s: %s=%s, want %q", name, k, got, v)
			}
		}
		// The order matters: the first line makes it an allow list; the second takes from it.
		// Reversed, the first would make a deny list and the second allow everything again.
		if got := u["Service"]["SystemCallFilter"]; !slices.Equal(got, []string{"@system-service", "~@privileged @resources"}) {
			t.Errorf("%s: SystemCallFilter= %q; want @system-service, then ~@privileged @resources", name, got)
		}
		if _, ok := u.get("Service", "ProcSubset"); ok {
			// teamsface's process metrics read /proc/stat, which ProcSubset=pid hides.
			t.Errorf("%s: ProcSubset= hides /proc/stat from the process metrics", name)
		}
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed; the exposure level is not checked")
		return
	}
	dir := t.TempDir()
	var files []string
	for name, text := range units {
		if !strings.HasSuffix(name, ".service") {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.Join(dir, strings.Replace(name, "@.", "@pbx1.", 1)))
	}
	cmd := exec.Command(sa, append([]string{"security", "--offline=true", "--no-pager", "--threshold=" + strconv.Itoa(unitExposure)}, files...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+dir+":", "SYSTEMD_COLORS=0")
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), "unrecognized option") {
		t.Logf("systemd-analyze security has no --offline (systemd < 252); the exposure level is not checked")
		return
	}
	if err != nil {
		t.Errorf("systemd-analyze security: an exposure above %d.%d: %v\n%s", unitExposure/10, unitExposure%10, err, out)
	}
}

// readGzip returns the content of a gzipped file and its header.
func readGzip(t *testing.T, path string) (string, gzip.Header) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return string(data), zr.Header
}

// The release's manual pages come from the command tree (issue 19): gzipped without a name or a
// time (gzip -9n), each titled after its command, the version of the binary that wrote them in
// the footer, no page for a help topic (exit codes and configuration keys are sections of
// teamsface(1) and a page of section 5) nor for the Windows-only service commands.
func TestManPages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, _, errs := runCLI(t, map[string]string{"SOURCE_DATE_EPOCH": "1764000000"}, "man", "--dir", dir)
	if code != ExitOK {
		t.Fatalf("man: exit %d: %s", code, errs)
	}
	v, _, _ := buildInfo()
	root := newRootCmd(&globals{})
	root.InitDefaultHelpCmd()
	want := map[string]bool{"man5/teamsface-config.5.gz": true}
	var commands []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		commands = append(commands, c)
		for _, s := range c.Commands() {
			if s.Name() != "help" && !s.Hidden && !s.IsAdditionalHelpTopicCommand() && !windowsOnly[s.Name()] {
				walk(s)
			}
		}
	}
	walk(root)
	if len(commands) < 15 {
		t.Fatalf("only %d commands", len(commands))
	}
	for _, c := range commands {
		name := strings.ReplaceAll(c.CommandPath(), " ", "-")
		want["man1/"+name+".1.gz"] = true
		page, hdr := readGzip(t, filepath.Join(dir, "man1", name+".1.gz"))
		if hdr.Name != "" || !hdr.ModTime.IsZero() {
			t.Errorf("%s: gzip header with name %q and time %v; want neither (gzip -n)", name, hdr.Name, hdr.ModTime)
		}
		title := strings.ToUpper(name)
		if th := `.TH "` + title + `" "1" "Nov 2025" "teamsface ` + v + `" "teamsface manual"`; !strings.HasPrefix(page, ".nh\n"+th+"\n") || !strings.Contains(page, c.Short) {
			t.Errorf("%s: want a page starting %s with the command's summary:\n%.300s", name, th, page)
		}
		if strings.Contains(page, "Auto generated") {
			t.Errorf("%s carries cobra's generator tag", name)
		}
	}
	var got []string
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(want, setOf(got)) {
		t.Errorf("pages %v, want %v", got, slices.Sorted(maps.Keys(want)))
	}

	// teamsface(1) has what a manual page of a program has: exit codes, environment, files, in
	// man-pages(7)'s order, with every exit code and global flag, and the configuration search
	// path and the state directory's default from DESIGN.md.
	page, _ := readGzip(t, filepath.Join(dir, "man1", "teamsface.1.gz"))
	last := -1
	for _, section := range []string{".SH OPTIONS", ".SH EXIT STATUS", ".SH ENVIRONMENT", ".SH FILES", ".SH EXAMPLE", ".SH SEE ALSO"} {
		i := strings.Index(page, "\n"+section+"\n")
		if i <= last {
			t.Errorf("teamsface(1): %s missing or out of order", section)
		}
		last = i
	}
	for _, c := range []int{ExitOK, ExitFailure, ExitUsage, ExitPartial, ExitAuth, ExitLocked} {
		if !strings.Contains(page, fmt.Sprintf(".TP\n\\fB%d\\fP\n", c)) {
			t.Errorf("teamsface(1): EXIT STATUS lacks %d", c)
		}
	}
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if v := "TEAMSFACE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")); !strings.Contains(page, `\fB`+v+`\fP`) {
			t.Errorf("teamsface(1): ENVIRONMENT lacks %s", v)
		}
	})
	for _, s := range []string{`$XDG_CONFIG_HOME/teamsface/mapping.yaml`, `/etc/teamsface/mapping.yaml`, ` ./mapping.yaml`, `$XDG_STATE_HOME/teamsface`,
		`~/.local/state/teamsface`, `/var/lib/teamsface`, `/etc/teamsface/env`, `TEAMSFACE_CLIENT_SECRET`, `STARFACE_PASSWORD`, `\fBteamsface\-config(5)\fP`} {
		if !strings.Contains(strings.ReplaceAll(page, `\-`, "-"), strings.ReplaceAll(s, `\-`, "-")) {
			t.Errorf("teamsface(1) does not mention %s", s)
		}
	}
	// teamsface-config(5): every key.
	config, _ := readGzip(t, filepath.Join(dir, "man5", "teamsface-config.5.gz"))
	if !strings.HasPrefix(config, `.nh`+"\n"+`.TH "TEAMSFACE\-CONFIG" "5" "Nov 2025" "teamsface `+v+`"`) {
		t.Errorf("teamsface-config(5) header:\n%.200s", config)
	}
	for _, k := range mapping.Keys() {
		if !strings.Contains(config, ".TP\n\\fB"+roff(k.Key)+"\\fP") {
			t.Errorf("teamsface-config(5) lacks %s", k.Key)
		}
	}
	if groff, err := exec.LookPath("groff"); err == nil {
		// groff -ww warns of every troff mistake; -z formats without output; -k reads UTF-8, as
		// man does.
		for _, p := range []string{page, config} {
			cmd := exec.Command(groff, "-k", "-man", "-ww", "-z", "-Tutf8")
			cmd.Stdin = strings.NewReader(p)
			if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("groff: %v\n%s", err, out)
			}
		}
	}

	if _, out, _ := runCLI(t, nil, "--help"); strings.Contains(out, "\n  man ") {
		t.Error("the man command is listed in --help; it is for release builds")
	}
	if code, _, errs := runCLI(t, map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, "man", "--dir", dir); code != ExitUsage || !strings.Contains(errs, "SOURCE_DATE_EPOCH") {
		t.Errorf("SOURCE_DATE_EPOCH=yesterday: exit %d, %s", code, errs)
	}
}

func setOf(s []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range s {
		m[v] = true
	}
	return m
}

func TestExitCodesHelp(t *testing.T) {
	t.Parallel()
	codes, notes, err := exitCodes("Exit codes:\n  0  ok\n  3  partial: a\n     b\n\nA note\non two lines.\n\nAnother.\n")
	if err != nil || len(codes) != 2 || codes[1] != (exitCode{3, "partial: a b"}) || !slices.Equal(notes, []string{"A note on two lines.", "Another."}) {
		t.Errorf("exitCodes: %v %q %v", codes, notes, err)
	}
	if _, _, err := exitCodes("Exit codes:\nnot a code\n"); err == nil {
		t.Error("a line that is not a code was accepted")
	}
	if got := roff(`.a-b\c`); got != `\&.a\-b\ec` {
		t.Errorf("roff = %q", got)
	}
}
