package cmd

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/teamsface/teamsface/cmd/internal/clock"
	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
	"github.com/teamsface/teamsface/state"
)

var updateScripts = flag.Bool("update-scripts", false, "rewrite the expected output in testdata/script/*.txtar where a cmp fails")

// TestScript runs the scripts in testdata/script at the top of the repository. Each script is
// what an admin would type: it sets up a made-up company on both test doubles (its own pair of
// servers and its own clock), runs teamsface and compares stdout, stderr and the exit code.
// teamsface runs in this process through Run, with the doubles' HTTP client and a clock that
// moves only when the script (or a wait inside teamsface) moves it, so output is the same on
// every run. The commands the scripts can use besides testscript's own are in scriptCmds.
func TestScript(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                filepath.Join("..", "testdata", "script"),
		Setup:              setupScript,
		Cmds:               scriptCmds,
		Condition:          scriptCondition,
		RequireUniqueNames: true,
		UpdateScripts:      *updateScripts,
	})
}

// scriptCondition knows [etc-config]: the machine has a system-wide configuration, which a
// script that runs teamsface without any configuration would pick up.
func scriptCondition(cond string) (bool, error) {
	if cond != "etc-config" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	_, err := os.Stat("/etc/teamsface/mapping.yaml")
	return err == nil, nil
}

// scriptStart is the made-up company's "now" at the start of every script.
var scriptStart = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// scriptCmds are the commands a script may use besides testscript's own (exec, cmp, stdout, ...).
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// teamsface ARGS...: run teamsface. Without "!" it must exit 0; "! teamsface" must fail and
	// be followed by "exitcode N". stdout and stderr are kept for cmp/stdout/stderr with the
	// volatile parts replaced: the work directory by $WORK, the doubles' origins by $GRAPH and
	// $STARFACE, a log line's wall-clock time= by TIME, and the random GUID after request-id,
	// client-request-id and trace id by GUID.
	"teamsface": cmdTeamsface,
	// exitcode N: the last teamsface exited N.
	"exitcode": cmdExitCode,
	// doubles N [-roles A,B] [-extra FILE]: start Entra/Graph and STARFACE with an admin (0001,
	// excluded) and N people who match by e-mail (0002 Alice Adler, 0003 Bob Brandt, ...), all
	// Available in Teams with DND off; write $WORK/mapping.yaml (with FILE appended as extra
	// top-level YAML), the two secret files, and point TEAMSFACE_CONFIG at the mapping. -roles
	// replaces the application permissions granted to teamsface's app registration.
	"doubles": cmdDoubles,
	// starface-user LOGIN FIRST LAST [EMAIL]: a STARFACE user with no Entra user of their own.
	"starface-user": cmdStarfaceUser,
	// entra-user [-disabled] EMAIL FIRST LAST: an Entra user with no STARFACE user of their own.
	"entra-user": cmdEntraUser,
	// teams LOGIN AVAILABILITY ACTIVITY: what that person's Teams clients report from now on.
	"teams": cmdTeams,
	// phone LOGIN dnd on|off: the person presses the DND key on their STARFACE phone.
	// phone LOGIN: print "LOGIN: dnd on|off" as the PBX has it, for stdout.
	"phone": cmdPhone,
	// requests graph|starface METHOD PATH-PREFIX N: the double got exactly N such requests since
	// it started or since "requests reset"; METHOD * is any method.
	"requests": cmdRequests,
	// fault graph|starface METHOD PATH-PREFIX STATUS [TIMES]: the double answers such requests
	// with STATUS in its service's error shape, TIMES times (default: for ever).
	"fault": cmdFault,
	// lockstate [release]: another teamsface run holds the state directory's lock (or lets go).
	"lockstate": cmdLockState,
	// advance DURATION: move the clock of teamsface and both doubles.
	"advance": cmdAdvance,
	// stopafter N: the next teamsface (sync watch) is stopped, as by SIGTERM, in its wait after
	// pass N. Waits between passes move the clock by the wait instead of sleeping.
	"stopafter": cmdStopAfter,
}

type worldKey struct{}

// world is one script's company, doubles, clock and the last teamsface run.
type world struct {
	work string
	clk  *clock.Manual

	gs        *graphtest.Server // nil until "doubles"
	ss        *starfacetest.Server
	people    map[string]scriptPerson // by STARFACE login
	nextID    int                     // next free STARFACE user id
	entraOnly int                     // Entra-only users so far

	lock *state.Store // held by "lockstate"

	stopAfter int // see stopafter; 0 = none

	lastExit  int
	unchecked bool // a failing teamsface whose exit code no "exitcode" has checked yet
}

type scriptPerson struct {
	sfID    int
	entraID string // "" for a STARFACE-only user
}

func worldOf(ts *testscript.TestScript) *world { return ts.Value(worldKey{}).(*world) }

func setupScript(e *testscript.Env) error {
	w := &world{work: e.WorkDir, clk: clock.NewManual(scriptStart), people: map[string]scriptPerson{}, nextID: 2}
	e.Values[worldKey{}] = w
	// Never the real ~/.local/state, whatever the script forgets.
	e.Setenv("TEAMSFACE_STATE_DIR", filepath.Join(e.WorkDir, "state"))
	// The shipped example configuration, for scripts that check it as an admin would.
	example, err := filepath.Abs(filepath.Join("..", "mapping.example.yaml"))
	if err != nil {
		return err
	}
	e.Setenv("EXAMPLE", example)
	e.Defer(func() {
		if w.lock != nil {
			w.lock.Close()
		}
		if w.gs != nil {
			w.gs.Close()
			w.ss.Close()
		}
		if w.unchecked {
			// A Fatalf here would panic outside the script's own recovery.
			e.T().(interface{ Errorf(string, ...any) }).Errorf("the script ends after a failing teamsface (exit %d) without an exitcode line", w.lastExit)
		}
	})
	return nil
}

func cmdTeamsface(ts *testscript.TestScript, neg bool, args []string) {
	w := worldOf(ts)
	if w.unchecked {
		w.unchecked = false // reported here, not again at the end
		ts.Fatalf("the teamsface before this one failed (exit %d) and no exitcode line checked it", w.lastExit)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	deps := Deps{
		Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(""),
		Getenv: ts.Getenv,
		Now:    w.clk.Now,
		// No wait is real: a retry pause or a device-code poll interval passes on the clock.
		Sleep: func(ctx context.Context, d time.Duration) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			w.clk.Advance(d)
			return nil
		},
	}
	if w.gs != nil {
		deps.HTTPClient = w.gs.Client() // both doubles present httptest's certificate
	}
	waits, runaway := 0, false
	deps.After = func(d time.Duration) <-chan time.Time {
		waits++
		if (w.stopAfter > 0 && waits >= w.stopAfter) || waits >= maxScriptPasses {
			runaway = w.stopAfter == 0
			cancel() // what SIGTERM does: the watch's stop context ends during the wait
			return nil
		}
		// The wait is the interval less the pass's own (real) time; whole seconds keep the
		// printed times the same on every run.
		w.clk.Advance(ceilSecond(d))
		c := make(chan time.Time, 1)
		c <- w.clk.Now()
		return c
	}
	// A run that waits in real time (a wait that no longer goes through Deps.After or
	// Deps.Sleep) is ended instead of holding the test until go test's own timeout.
	var stuck atomic.Bool
	watchdog := time.AfterFunc(scriptRunLimit, func() { stuck.Store(true); cancel() })
	code := Run(ctx, deps, args)
	watchdog.Stop()
	w.stopAfter = 0
	fmt.Fprint(ts.Stdout(), w.normalize(out.String()))
	fmt.Fprint(ts.Stderr(), w.normalize(errb.String()))
	w.lastExit = code
	switch {
	case stuck.Load():
		ts.Fatalf("teamsface was still running after %v of real time: does every wait go through Deps.After or Deps.Sleep?", scriptRunLimit)
	case runaway:
		ts.Fatalf("teamsface ran %d passes without being stopped: put a stopafter line before it", maxScriptPasses)
	case neg && code == 0:
		ts.Fatalf("teamsface exited 0, want a failure")
	case !neg && code != 0:
		ts.Fatalf("teamsface exited %d", code)
	}
	w.unchecked = neg
}

// scriptRunLimit is how long one teamsface run may take in real time; with no real waits, runs
// take milliseconds.
const scriptRunLimit = time.Minute

// maxScriptPasses stops a sync watch that a script forgot to stop.
const maxScriptPasses = 100

func ceilSecond(d time.Duration) time.Duration {
	if r := d % time.Second; r > 0 {
		d += time.Second - r
	}
	return max(d, 0)
}

var (
	// Request and trace ids are random GUIDs that the doubles and the clients make up per call.
	randomIDs   = regexp.MustCompile(`\b(request-id|client-request-id|trace id) [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	logTimeText = regexp.MustCompile(`\btime=\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d) `)
	logTimeJSON = regexp.MustCompile(`"time":"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)"`)
)

// normalize replaces what differs between runs with names a script can compare against.
func (w *world) normalize(s string) string {
	s = strings.ReplaceAll(s, w.work, "$WORK")
	if w.gs != nil {
		s = strings.ReplaceAll(s, w.gs.URL, "$GRAPH")
		s = strings.ReplaceAll(s, w.ss.URL, "$STARFACE")
	}
	s = randomIDs.ReplaceAllString(s, "$1 GUID")
	s = logTimeText.ReplaceAllString(s, "time=TIME ")
	return logTimeJSON.ReplaceAllString(s, `"time":"TIME"`)
}

func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: exitcode N")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	w := worldOf(ts)
	w.unchecked = false
	if w.lastExit != want {
		ts.Fatalf("teamsface exited %d, want %d", w.lastExit, want)
	}
}

// company are the made-up people, in login order from 0002.
var company = [][2]string{
	{"Alice", "Adler"}, {"Bob", "Brandt"}, {"Carol", "Cramer"}, {"Dave", "Dietz"}, {"Erin", "Engel"},
	{"Frank", "Fischer"}, {"Grace", "Graf"}, {"Heidi", "Hahn"}, {"Ivan", "Imhof"}, {"Judy", "Jung"},
}

func scriptEmail(first, last string) string {
	return strings.ToLower(first + "." + last + "@contoso.example")
}

func cmdDoubles(ts *testscript.TestScript, neg bool, args []string) {
	w := worldOf(ts)
	if neg || len(args) < 1 {
		ts.Fatalf("usage: doubles N [-roles A,B] [-extra FILE]")
	}
	if w.gs != nil {
		ts.Fatalf("doubles: already started")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 || n > len(company) {
		ts.Fatalf("doubles: N must be 0..%d", len(company))
	}
	fs := flag.NewFlagSet("doubles", flag.ContinueOnError)
	roles := fs.String("roles", "Presence.Read.All,Presence.ReadWrite.All,User.Read.All", "application permissions granted")
	extra := fs.String("extra", "", "file with extra top-level YAML for mapping.yaml")
	ts.Check(fs.Parse(args[1:]))
	if fs.NArg() > 0 {
		ts.Fatalf("doubles: unexpected %q", fs.Args())
	}

	w.gs, w.ss = graphtest.NewServer(), starfacetest.NewServer()
	w.gs.SetClock(w.clk.Now)
	w.ss.SetClock(w.clk.Now)
	var granted []string
	if *roles != "" {
		granted = strings.Split(*roles, ",")
	}
	w.gs.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: testClientID, ClientSecret: testSecret, Roles: granted})
	w.ss.AddUser(starfacetest.User{ID: 1, Login: "0001", Password: testPassword, FirstName: "PBX", FamilyName: "Admin", Admin: true})
	w.people["0001"] = scriptPerson{sfID: 1}
	for _, name := range company[:n] {
		login := fmt.Sprintf("%04d", w.nextID)
		entraID := fmt.Sprintf("00000000-0000-4000-8000-%012d", w.nextID)
		w.addStarface(login, name[0], name[1], scriptEmail(name[0], name[1]))
		w.gs.AddUser(graphtest.User{ID: entraID, DisplayName: name[0] + " " + name[1], Mail: scriptEmail(name[0], name[1]),
			UserPrincipalName: scriptEmail(name[0], name[1]), AccountEnabled: true, Availability: "Available", Activity: "Available"})
		w.people[login] = scriptPerson{sfID: w.people[login].sfID, entraID: entraID}
	}

	write := func(name, content string) string {
		p := filepath.Join(w.work, name)
		ts.Check(os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	tail := ""
	if *extra != "" {
		tail = ts.ReadFile(*extra)
	}
	cfg := write("mapping.yaml", fmt.Sprintf(`microsoft:
  tenant: %s
  client_id: %s
  client_secret_file: %s
  authority_host: %s
  graph_endpoint: %s
starface:
  url: %s
  login: "0001"
  password_file: %s
users:
  exclude: ["0001"]
%s`, testTenant, testClientID, write("client-secret", testSecret), w.gs.URL, w.gs.URL,
		w.ss.URL, write("starface-password", testPassword), tail))
	ts.Setenv("TEAMSFACE_CONFIG", cfg)
}

// addStarface adds a STARFACE user with the next free id; phones start with DND off.
func (w *world) addStarface(login, first, last, email string) {
	id := w.nextID
	w.nextID++
	w.ss.AddUser(starfacetest.User{ID: id, Login: login, Password: "x", FirstName: first, FamilyName: last,
		Email: email, Phone: starface.PhoneConfig{CallWaiting: true, DisplayNumberID: 7, PrimaryPhoneID: 9}})
	w.people[login] = scriptPerson{sfID: id}
}

func (w *world) needDoubles(ts *testscript.TestScript) {
	if w.gs == nil {
		ts.Fatalf("start the doubles first (doubles N)")
	}
}

func (w *world) person(ts *testscript.TestScript, login string) scriptPerson {
	p, ok := w.people[login]
	if !ok {
		ts.Fatalf("no STARFACE user %s in this script's company", login)
	}
	return p
}

func cmdStarfaceUser(ts *testscript.TestScript, neg bool, args []string) {
	w := worldOf(ts)
	w.needDoubles(ts)
	if neg || len(args) < 3 || len(args) > 4 {
		ts.Fatalf("usage: starface-user LOGIN FIRST LAST [EMAIL]")
	}
	if _, dup := w.people[args[0]]; dup {
		ts.Fatalf("starface-user: %s exists", args[0])
	}
	email := ""
	if len(args) == 4 {
		email = args[3]
	}
	w.addStarface(args[0], args[1], args[2], email)
}

func cmdEntraUser(ts *testscript.TestScript, neg bool, args []string) {
	w := worldOf(ts)
	w.needDoubles(ts)
	disabled := len(args) > 0 && args[0] == "-disabled"
	if disabled {
		args = args[1:]
	}
	if neg || len(args) != 3 {
		ts.Fatalf("usage: entra-user [-disabled] EMAIL FIRST LAST")
	}
	w.entraOnly++
	w.gs.AddUser(graphtest.User{ID: fmt.Sprintf("00000000-0000-4000-9000-%012d", w.entraOnly), DisplayName: args[1] + " " + args[2],
		Mail: args[0], UserPrincipalName: args[0], AccountEnabled: !disabled, Availability: "Available", Activity: "Available"})
}

func cmdTeams(ts *testscript.TestScript, neg bool, args []string) {
	w := worldOf(ts)
	w.needDoubles(ts)
	if neg || len(args) != 3 {
		ts.Fatalf("usage: teams LOGIN AVAILABILITY ACTIVITY")
	}
	p := w.person(ts, args[0])
	if p.entraID == "" {
		ts.Fatalf("teams: %s has no Entra user", args[0])
	}
	w.gs.SetUserPresence(p.entraID, args[1], args[2])
}

func cmdPhone(ts *testscript.TestScript, neg bool, args []string) {
	w := worldOf(ts)
	w.needDoubles(ts)
	if neg || !(len(args) == 1 || len(args) == 3 && args[1] == "dnd" && (args[2] == "on" || args[2] == "off")) {
		ts.Fatalf("usage: phone LOGIN [dnd on|off]")
	}
	p := w.person(ts, args[0])
	if len(args) == 3 {
		w.ss.SetDND(p.sfID, args[2] == "on")
		return
	}
	dnd := w.ss.PhoneConfigOf(p.sfID).DoNotDisturb
	fmt.Fprintf(ts.Stdout(), "%s: dnd %s\n", args[0], onOff(&dnd))
}

// counter is what "requests" and "fault" need from either double.
type counter interface {
	CountRequests(method, pathPrefix string) int
	ResetRequests()
}

func (w *world) double(ts *testscript.TestScript, name string) counter {
	w.needDoubles(ts)
	switch name {
	case "graph":
		return w.gs
	case "starface":
		return w.ss
	}
	ts.Fatalf("unknown double %q: use graph or starface", name)
	return nil
}

func cmdRequests(ts *testscript.TestScript, neg bool, args []string) {
	w := worldOf(ts)
	if len(args) == 1 && args[0] == "reset" && !neg {
		w.needDoubles(ts)
		w.gs.ResetRequests()
		w.ss.ResetRequests()
		return
	}
	if neg || len(args) != 4 {
		ts.Fatalf("usage: requests graph|starface METHOD PATH-PREFIX N, or requests reset")
	}
	d := w.double(ts, args[0])
	method := args[1]
	if method == "*" {
		method = ""
	}
	want, err := strconv.Atoi(args[3])
	ts.Check(err)
	if got := d.CountRequests(method, args[2]); got != want {
		ts.Fatalf("%s got %d %s %s* requests, want %d", args[0], got, args[1], args[2], want)
	}
}

func cmdFault(ts *testscript.TestScript, neg bool, args []string) {
	w := worldOf(ts)
	if neg || len(args) < 4 || len(args) > 5 {
		ts.Fatalf("usage: fault graph|starface METHOD PATH-PREFIX STATUS [TIMES]")
	}
	w.double(ts, args[0])
	status, err := strconv.Atoi(args[3])
	ts.Check(err)
	times := 0
	if len(args) == 5 {
		times, err = strconv.Atoi(args[4])
		ts.Check(err)
	}
	method := args[1]
	if method == "*" {
		method = ""
	}
	if args[0] == "graph" {
		w.gs.AddFault(graphtest.Fault{Method: method, Path: args[2], Status: status, Times: times})
	} else {
		w.ss.AddFault(starfacetest.Fault{Method: method, Path: args[2], Status: status, Times: times})
	}
}

func cmdLockState(ts *testscript.TestScript, neg bool, args []string) {
	w := worldOf(ts)
	switch {
	case neg || len(args) > 1 || len(args) == 1 && args[0] != "release":
		ts.Fatalf("usage: lockstate [release]")
	case len(args) == 1:
		if w.lock == nil {
			ts.Fatalf("lockstate release: not held")
		}
		ts.Check(w.lock.Close())
		w.lock = nil
	default:
		if w.lock != nil {
			ts.Fatalf("lockstate: already held")
		}
		st, err := state.Open(ts.Getenv("TEAMSFACE_STATE_DIR"), 0)
		ts.Check(err)
		w.lock = st
	}
}

func cmdAdvance(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: advance DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	worldOf(ts).clk.Advance(d)
}

func cmdStopAfter(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stopafter N")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		ts.Fatalf("stopafter: N must be 1 or more")
	}
	worldOf(ts).stopAfter = n
}

// Compile-time checks that the doubles share what the commands above use.
var (
	_ counter = (*graphtest.Server)(nil)
	_ counter = (*starfacetest.Server)(nil)
)
