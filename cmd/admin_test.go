package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teamsface/teamsface/starface/starfacetest"
	"github.com/teamsface/teamsface/state"
)

// A mistyped or missing subcommand must fail (exit 2) with a suggestion: a cron line with a typo
// that prints help and exits 0 silently does nothing for ever.
func TestMistypedOrMissingSubcommandExits2(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// mapping check -o json on an invalid file printed nothing on stdout: a CI job reading the JSON
// got no document at all.
func TestMappingCheckJSONInvalidFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := "microsoft:\n  tenant: contoso.example\n  client_id: 11111111-2222-3333-4444-555555555555\nstarface:\n  url: https://pbx.example.com\n  login: \"0001\"\n"
	twoBad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(twoBad, []byte(base+"  concurrency: 0\nteams_to_starface:\n  rulez: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	syntax := filepath.Join(dir, "syntax.yaml")
	if err := os.WriteFile(syntax, []byte(base+"users:\n  match: [mail\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type problem struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
		Field   string `json:"field"`
		Message string `json:"message"`
	}
	for _, tc := range []struct {
		file string
		want []problem
	}{
		{twoBad, []problem{
			{File: twoBad, Line: 7, Column: 16, Field: "starface.concurrency"},
			{File: twoBad, Line: 9, Column: 3, Field: "teams_to_starface.rulez"},
		}},
		{syntax, []problem{{File: syntax, Line: 8}}},
		{filepath.Join(dir, "missing.yaml"), []problem{{File: filepath.Join(dir, "missing.yaml")}}},
	} {
		code, out, errs := runCLI(t, nil, "mapping", "check", "-o", "json", tc.file)
		if code != ExitUsage {
			t.Errorf("%s: exit %d, want %d; stderr %s", tc.file, code, ExitUsage, errs)
		}
		var doc struct {
			File   string    `json:"file"`
			Valid  *bool     `json:"valid"`
			Errors []problem `json:"errors"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Errorf("%s: stdout is not one JSON document (%v):\n%s", tc.file, err, out)
			continue
		}
		if doc.File != tc.file || doc.Valid == nil || *doc.Valid || len(doc.Errors) != len(tc.want) {
			t.Errorf("%s: got %s", tc.file, out)
			continue
		}
		for i, w := range tc.want {
			got := doc.Errors[i]
			if got.Message == "" || got.File != w.File || got.Line != w.Line || (w.Column != 0 && got.Column != w.Column) || got.Field != w.Field {
				t.Errorf("%s: error %d = %+v, want %+v and a message", tc.file, i, got, w)
			}
		}
		if !strings.Contains(errs, filepath.Base(tc.file)) {
			t.Errorf("%s: stderr does not name the file: %s", tc.file, errs)
		}
	}
}

func TestMappingCheckJSONWithoutAnyConfigFile(t *testing.T) {
	if _, err := os.Stat("/etc/teamsface/mapping.yaml"); err == nil {
		t.Skip("/etc/teamsface/mapping.yaml exists on this machine")
	}
	t.Chdir(t.TempDir())
	code, out, _ := runCLI(t, map[string]string{"XDG_CONFIG_HOME": t.TempDir()}, "mapping", "check", "-o", "json")
	var doc struct {
		Errors []struct{ Message string } `json:"errors"`
	}
	if code != ExitUsage || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Errors) != 1 || !strings.Contains(doc.Errors[0].Message, "no configuration file") {
		t.Errorf("exit %d, stdout %s", code, out)
	}
}

// A bad value from the environment was reported as if it had been given as the flag.
func TestBadEnvironmentValueNamesTheVariable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ env, value, flag string }{
		{"TEAMSFACE_LOG_LEVEL", "bogus", "--log-level"},
		{"TEAMSFACE_LOG_FORMAT", "xml", "--log-format"},
		{"TEAMSFACE_OUTPUT", "yaml", "--output"},
	} {
		code, _, errs := runCLI(t, map[string]string{tc.env: tc.value}, "version")
		if code != ExitUsage || !strings.Contains(errs, "environment variable "+tc.env+"=\""+tc.value+"\" is not valid") || strings.Contains(errs, tc.flag) {
			t.Errorf("%s=%s: exit %d, stderr %q; want %d naming the variable, not %s", tc.env, tc.value, code, errs, ExitUsage, tc.flag)
		}
		code, _, errs = runCLI(t, nil, tc.flag, tc.value, "version")
		if code != ExitUsage || !strings.Contains(errs, tc.flag+" \""+tc.value+"\" is not valid") {
			t.Errorf("%s %s: exit %d, stderr %q; want %d naming the flag", tc.flag, tc.value, code, errs, ExitUsage)
		}
	}
}

// pflag leaves out a zero default; --lock-timeout's matters (a second run exits 5 at once).
func TestLockTimeoutDefaultShownInHelp(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, nil, "sync", "once", "--help")
	line := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "--lock-timeout") {
			line = l
		}
	}
	if code != ExitOK || !strings.Contains(line, "(default 0s") {
		t.Errorf("exit %d; --lock-timeout help line %q does not show its default 0s", code, line)
	}
}

// "strconv.ParseInt: parsing "abc": invalid syntax" is Go, not an answer for a user.
func TestBadFlagValueSaysWhatIsValid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"demo", "--users", "abc"}, `--users "abc" is not valid; use a whole number`},
		{nil, []string{"demo", "--users", "99999999999999999999"}, `--users "99999999999999999999" is not valid; use a whole number`},
		{nil, []string{"sync", "watch", "--interval", "x"}, `--interval "x" is not valid; use a duration such as 10s`},
		{nil, []string{"--lock-timeout", "soon", "version"}, `--lock-timeout "soon" is not valid; use a duration`},
		{nil, []string{"users", "match", "--unmatched=maybe"}, `--unmatched "maybe" is not valid; use true or false`},
		{map[string]string{"TEAMSFACE_LOCK_TIMEOUT": "soon"}, []string{"version"}, `environment variable TEAMSFACE_LOCK_TIMEOUT="soon" is not valid; use a duration`},
	} {
		code, _, errs := runCLI(t, tc.env, tc.args...)
		if code != ExitUsage || !strings.Contains(errs, tc.want) || strings.Contains(errs, "strconv") || strings.Contains(errs, "time: ") {
			t.Errorf("%v %v: exit %d, stderr %q; want %d and %q", tc.env, tc.args, code, errs, ExitUsage, tc.want)
		}
	}
}

// "1 users": counts in messages agree with their noun.
func TestMessagesSayOneUserNotOneUsers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	// Graph has one user; STARFACE has the admin and that user, and one the mail does not match.
	h.ss.AddUser(starfacetest.User{ID: 50, Login: "0050", Password: "x", FirstName: "No", FamilyName: "Match", Email: "nobody@contoso.example"})
	out, _ := h.mustRun(ExitOK, "login", "--check", "-o", "json")
	rows := checks(t, out)
	if d := rows["microsoft/list users"].Detail; d != "1 user" {
		t.Errorf("microsoft/list users: %q, want \"1 user\"", d)
	}
	_, errs := h.mustRun(ExitPartial, "users", "match", "--fail-on-unmatched")
	if !strings.Contains(errs, "1 user in scope is unmatched or ambiguous") {
		t.Errorf("users match --fail-on-unmatched: %s", errs)
	}

	dir := t.TempDir()
	base := "microsoft:\n  tenant: contoso.example\n  client_id: 11111111-2222-3333-4444-555555555555\nstarface:\n  url: https://pbx.example.com\n  login: \"0001\"\n"
	for _, tc := range []struct {
		test      string
		code      int
		out, errs string
	}{
		{"{availability: Busy, activity: InACall, expect: {dnd: on}}", ExitOK, "The file's one test passes.", ""},
		{"{availability: Busy, activity: InACall, expect: {dnd: off}}", ExitPartial, "The file's one test fails:", "1 of 1 mapping test failed"},
	} {
		p := filepath.Join(dir, "one.yaml")
		if err := os.WriteFile(p, []byte(base+"tests:\n  - "+tc.test+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCLI(t, nil, "mapping", "check", p)
		if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.errs) {
			t.Errorf("mapping check with %s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant %d, %q and %q", tc.test, code, out, errs, tc.code, tc.out, tc.errs)
		}
	}
}

func TestPlural(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0 users"}, {1, "1 user"}, {2, "2 users"}, {1200, "1200 users"}} {
		if got := plural(tc.n, "user", "users"); got != tc.want {
			t.Errorf("plural(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// blockTokenCache makes saving token-graph.json fail even for root: a directory of that name
// cannot be replaced by a file.
func blockTokenCache(t *testing.T, h *harness) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(h.stateDir, "token-graph.json", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
}

// login said "the token is cached" when saving it had failed.
func TestLoginSaysWhenTheTokenCouldNotBeCached(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	blockTokenCache(t, h)
	code, _, errs := h.run("login")
	if code != ExitFailure || strings.Contains(errs, "is cached") || !strings.Contains(errs, "could not be cached") || !strings.Contains(errs, "token-graph.json") {
		t.Errorf("exit %d, want %d saying the token could not be cached and why:\n%s", code, ExitFailure, errs)
	}
	if !strings.Contains(errs, "Credentials work") {
		t.Errorf("the credentials did work; stderr:\n%s", errs)
	}
}

func TestDeviceLoginSaysWhenTheSignInCouldNotBeSaved(t *testing.T) {
	t.Parallel() // it waits one real poll interval
	h := newHarness(t, 1, "")
	h.gs.RegisterApp(deviceApp())
	h.configure(cfgOpts{auth: "device-code"})
	blockTokenCache(t, h)
	code, errs := deviceLogin(t, h, h.gs.ApproveDevice)
	if code != ExitFailure || strings.Contains(errs, "is stored") || strings.Contains(errs, "Signed in.") || !strings.Contains(errs, "token-graph.json") {
		t.Errorf("exit %d, want %d saying the sign-in was not saved:\n%s", code, ExitFailure, errs)
	}
}

// version called the commit time "built".
func TestVersionSaysCommitTime(t *testing.T) {
	// Not parallel: it sets the package's version variables, which every other test's root
	// command reads (a data race under -race).
	saved := [3]string{version, commit, commitTime}
	t.Cleanup(func() { version, commit, commitTime = saved[0], saved[1], saved[2] })
	version, commit, commitTime = "0.1.0", "0123abc", "2026-11-22T10:00:00Z"
	code, out, _ := runCLI(t, nil, "version")
	if want := "teamsface 0.1.0 (commit 0123abc, committed 2026-11-22T10:00:00Z)\n"; code != ExitOK || out != want {
		t.Errorf("version: exit %d, %q; want %q", code, out, want)
	}
	code, out, _ = runCLI(t, nil, "version", "-o", "json")
	var v map[string]string
	if code != ExitOK || json.Unmarshal([]byte(out), &v) != nil || v["commit_time"] != "2026-11-22T10:00:00Z" || v["commit"] != "0123abc" || v["version"] != "0.1.0" {
		t.Errorf("version -o json: exit %d, %s", code, out)
	}
	code, out, _ = runCLI(t, nil, "--version")
	if want := "teamsface 0.1.0 (commit 0123abc, committed 2026-11-22T10:00:00Z)\n"; code != ExitOK || out != want {
		t.Errorf("--version: exit %d, %q; want %q", code, out, want)
	}
	code, _, errs := runCLI(t, nil, "version", "extra")
	if code != ExitUsage {
		t.Errorf("version extra: exit %d, %s", code, errs)
	}
}

// --state-dir naming a file was found only after signing in (exit 1); it is a usage error, found
// before any request.
func TestStateDirThatIsAFileExits2BeforeAnyRequest(t *testing.T) {
	t.Parallel()
	for _, sub := range []string{"", "state"} {
		for _, args := range [][]string{{"login"}, {"login", "--check"}, {"users", "match"}, {"presence", "get"}, {"sync", "once"}, {"sync", "once", "--dry-run"}, {"logout"}} {
			h := newHarness(t, 1, "")
			file := h.writeFile("not-a-dir", "x")
			h.stateDir = filepath.Join(file, sub)
			code, _, errs := h.run(args...)
			if code != ExitUsage || !strings.Contains(errs, file+" is a file") {
				t.Errorf("--state-dir %s %v: exit %d, want %d naming the file:\n%s", h.stateDir, args, code, ExitUsage, errs)
			}
			if n := len(h.gs.Requests()) + len(h.ss.Requests()); n != 0 {
				t.Errorf("--state-dir %s %v: %d requests before refusing", h.stateDir, args, n)
			}
		}
	}
}

// The release's manual pages come from the command tree: one per command and help topic.
func TestManPages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, _, errs := runCLI(t, map[string]string{"SOURCE_DATE_EPOCH": "1764000000"}, "man", "--dir", dir)
	if code != ExitOK {
		t.Fatalf("man: exit %d: %s", code, errs)
	}
	root := newRootCmd(&globals{})
	for _, path := range commandPaths(root) {
		name := strings.Join(append([]string{"teamsface"}, path...), "-") + ".1"
		c, _, _ := root.Find(path)
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("no page for %q: %v", strings.Join(path, " "), err)
			continue
		}
		page := string(data)
		if !strings.HasPrefix(page, ".nh\n.TH \"TEAMSFACE\" \"1\" \"Nov 2025\" ") || !strings.Contains(page, c.Short) {
			t.Errorf("%s: not a section 1 page dated from SOURCE_DATE_EPOCH with the command's summary:\n%.300s", name, page)
		}
		if strings.Contains(page, "Auto generated") {
			t.Errorf("%s carries cobra's generator tag", name)
		}
	}
	if _, out, _ := runCLI(t, nil, "--help"); strings.Contains(out, "\n  man ") {
		t.Error("the man command is listed in --help; it is for release builds")
	}
	if code, _, errs := runCLI(t, map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, "man", "--dir", dir); code != ExitUsage || !strings.Contains(errs, "SOURCE_DATE_EPOCH") {
		t.Errorf("SOURCE_DATE_EPOCH=yesterday: exit %d, %s", code, errs)
	}
}

// A signal on Deps.Signals is how the Windows service stops sync watch when the service manager
// asks: like SIGTERM, the pass in flight is finished and saved, then Run returns 0. Sent before
// Run starts, exactly one pass runs.
func TestWatchStopsOnASignalAfterThePassInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.setPresence(0, "Busy", "InACall")
	// syncBuffers: the signal's message and sync watch's log lines are written concurrently.
	var out, errb syncBuffer
	deps := h.deps(nil, nil)
	deps.Stdout, deps.Stderr = &out, &errb
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGTERM
	deps.Signals = sigs
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, deps, []string{"--config", h.cfgPath, "--state-dir", h.stateDir, "sync", "watch", "--interval", "10s"})
	}()
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		cancel()
		<-done
		t.Fatal("sync watch did not stop on the signal")
	}
	if code != ExitOK {
		t.Fatalf("exit %d, want 0\n%s", code, errb.String())
	}
	if !h.dnd(0) || h.gs.CountRequests("POST", presencesByUser) != 1 {
		t.Errorf("the pass did not run to its end: DND %v, %d presence requests", h.dnd(0), h.gs.CountRequests("POST", presencesByUser))
	}
	st, _, err := state.ReadOnly(h.stateDir)
	if err != nil || st.User("0002") == nil || !st.User("0002").Owned() {
		t.Errorf("the pass's state was not saved: %v", err)
	}
}

func TestServiceIsWindowsOnlyElsewhere(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("the service commands run on Windows")
	}
	for _, args := range [][]string{{"service", "install", "--state-dir", "/x"}, {"service", "uninstall"}, {"service", "start"}, {"service", "stop"}, {"service", "run"}} {
		code, out, errs := runCLI(t, nil, args...)
		if code != ExitUsage || out != "" || !strings.Contains(errs, "Windows only") {
			t.Errorf("teamsface %v: exit %d, stderr %q; want %d saying it is Windows only", args, code, errs, ExitUsage)
		}
	}
	if code, _, errs := runCLI(t, nil, "service"); code != ExitUsage || !strings.Contains(errs, "one of install, start, stop, uninstall") {
		t.Errorf("teamsface service: exit %d, %s", code, errs)
	}
}

// The service runs sync watch with absolute paths (it starts in C:\Windows\System32) and always
// with the state directory named, so that runs by hand can use the same one.
func TestServiceWatchArgs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	g := &globals{deps: Deps{Getenv: func(string) string { return "" }}, configFile: "mapping.yaml", stateDir: "state", logLevel: "warn"}
	args, err := serviceWatchArgs(g, serviceOptions{interval: 10 * time.Second, metricsFile: "m.prom"})
	want := []string{"--config", filepath.Join(dir, "mapping.yaml"), "--state-dir", filepath.Join(dir, "state"), "--interval", "10s", "--metrics-file", filepath.Join(dir, "m.prom")}
	if err != nil || strings.Join(args, " ") != strings.Join(want, " ") {
		t.Errorf("serviceWatchArgs = %q, %v; want %q", args, err, want)
	}
	if err := checkCommandLine(append([]string{"sync", "watch"}, args...)); err != nil {
		t.Errorf("sync watch %v: %v", args, err)
	}
	g.logLevel = "debug"
	if args, _ := serviceWatchArgs(g, serviceOptions{interval: 10 * time.Second}); !strings.HasSuffix(strings.Join(args, " "), "--log-level debug") {
		t.Errorf("--log-level debug is not passed on: %q", args)
	}
	g.stateDir = ""
	if _, err := serviceWatchArgs(g, serviceOptions{interval: 10 * time.Second}); ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--state-dir") {
		t.Errorf("without --state-dir: %v; want a usage error asking for it", err)
	}
	g.stateDir = "state"
	if _, err := serviceWatchArgs(g, serviceOptions{interval: 100 * time.Millisecond}); ExitCode(err) != ExitUsage {
		t.Errorf("--interval 100ms: %v", err)
	}
}

func TestEventLogLines(t *testing.T) {
	t.Parallel()
	var got []string
	w := &lineWriter{emit: func(l string) { got = append(got, l) }}
	fmt.Fprint(w, "time=x level=WARN msg=\"slow\"\nteamsface: starface: 500\r\n")
	fmt.Fprint(w, "12:00:00 0002 ")
	fmt.Fprint(w, "alice dnd-on in a call\n\nlast")
	w.Flush()
	want := []string{`time=x level=WARN msg="slow"`, "teamsface: starface: 500", "12:00:00 0002 alice dnd-on in a call", "last"}
	if !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	for line, typ := range map[string]eventType{
		got[0]: eventWarning, got[1]: eventError, got[2]: eventInfo,
		`{"time":"x","level":"ERROR","msg":"pass failed"}`: eventError,
		"time=x level=INFO msg=started":                    eventInfo,
	} {
		if c := classifyLine(line); c != typ {
			t.Errorf("classifyLine(%q) = %d, want %d", line, c, typ)
		}
	}
}

// "looked up 1 OneHub ids": login --check's OneHub row counts in the right number too.
func TestLoginCheckOneHubSaysOneID(t *testing.T) {
	t.Parallel()
	h, _ := newHarnessOneHub(t, 0) // only the PBX admin, one id to look up
	out, _ := h.mustRun(ExitOK, "login", "--check", "-o", "json")
	rows := checks(t, out)
	if d := rows["onehub/reachable, token accepted"].Detail; !strings.HasPrefix(d, "looked up 1 OneHub id ") {
		t.Errorf("onehub row: %q, want \"looked up 1 OneHub id (experimental)\"", d)
	}
}
