package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/state"
)

const mirrorYAML = `starface_to_teams:
  enabled: true
  expiration: 15m
  poll: 60s
  echo_guard: 10m
`

// presenceCalls counts setPresence or clearPresence requests for one Entra user since the last reset.
func (h *harness) presenceCalls(i int, verb string) int {
	return h.gs.CountRequests("POST", "/v1.0/users/"+h.people[i].entraID+"/presence/"+verb)
}

// setPresenceBodies decodes the setPresence requests for one user.
func (h *harness) setPresenceBodies(i int) []map[string]any {
	var out []map[string]any
	for _, r := range h.gs.Requests() {
		if r.Method == "POST" && r.Path == "/v1.0/users/"+h.people[i].entraID+"/presence/setPresence" {
			var b map[string]any
			_ = json.Unmarshal(r.Body, &b)
			out = append(out, b)
		}
	}
	return out
}

// passes runs `sync once` n times, d apart, as cron or a timer would.
func (h *harness) passes(n int, d time.Duration) {
	h.t.Helper()
	for i := 0; i < n; i++ {
		h.advance(d)
		h.mustRun(ExitOK, "sync", "once")
	}
}

func TestMirrorHandSetDNDSetsOneSessionAndRefreshesWhenDue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 4, mirrorYAML)
	h.mustRun(ExitOK, "sync", "once")
	h.ss.SetDND(h.people[1].sfID, true)
	h.resetLogs()

	h.passes(6, 10*time.Second) // one poll: every user is read once
	if n := h.presenceCalls(1, "setPresence"); n != 1 {
		t.Fatalf("setPresence calls = %d, want exactly 1", n)
	}
	b := h.setPresenceBodies(1)[0]
	if b["sessionId"] != testClientID || b["availability"] != "DoNotDisturb" || b["activity"] != "Presenting" || b["expirationDuration"] != "PT15M" {
		t.Errorf("setPresence body = %v", b)
	}
	if a, act := h.gs.PresenceOf(h.people[1].entraID); a != "DoNotDisturb" || act != "Presenting" {
		t.Errorf("Teams shows %s/%s, want DoNotDisturb/Presenting", a, act)
	}
	for i := range h.people {
		if i != 1 && h.presenceCalls(i, "setPresence") > 0 {
			t.Errorf("setPresence for %s, who has no DND", h.people[i].login)
		}
	}
	// No refresh while more than half of the 15 minutes is left.
	h.resetLogs()
	h.passes(6, time.Minute) // 6 more minutes: 7 minutes since the set
	if n := h.presenceCalls(1, "setPresence"); n != 0 {
		t.Fatalf("refreshed %d times before it was due", n)
	}
	h.passes(6, 10*time.Second) // past 7.5 minutes
	if n := h.presenceCalls(1, "setPresence"); n != 1 {
		t.Fatalf("refreshes once due = %d, want 1", n)
	}
	// The STARFACE DND stays as the user set it: teamsface never took it over.
	if !h.dnd(1) {
		t.Error("the hand-set DND was changed")
	}
	if n := h.phoneRequests("PUT"); n != 0 {
		t.Errorf("%d phone-config writes, want none", n)
	}
}

func TestMirrorDNDOffClearsOnceAndTheEchoDoesNotSwitchDNDOn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, mirrorYAML)
	h.gs.SetClearLag(3 * time.Minute) // Teams clients are slow to drop a cleared session
	h.ss.SetDND(h.people[0].sfID, true)
	h.passes(6, 10*time.Second)
	if n := h.presenceCalls(0, "setPresence"); n != 1 {
		t.Fatalf("setPresence calls = %d, want 1", n)
	}
	h.ss.SetDND(h.people[0].sfID, false)
	h.resetLogs()
	h.passes(6, 10*time.Second)
	if n := h.presenceCalls(0, "clearPresence"); n != 1 {
		t.Fatalf("clearPresence calls = %d, want 1", n)
	}
	if a, _ := h.gs.PresenceOf(h.people[0].entraID); a != "DoNotDisturb" {
		t.Fatalf("the double should still show the cleared pair (lag); shows %s", a)
	}
	// Several passes while Teams still shows our pair: the rules say DoNotDisturb → DND on, but
	// it is our own echo.
	h.passes(12, 10*time.Second)
	if h.dnd(0) {
		t.Fatal("teamsface's own echo switched the STARFACE DND back on")
	}
	if n := h.phoneRequests("PUT"); n != 0 {
		t.Errorf("%d phone-config writes during the echo, want none", n)
	}
	if n := h.presenceCalls(0, "clearPresence"); n != 1 {
		t.Errorf("clearPresence calls = %d, want still 1", n)
	}
	// Once Teams has dropped it, a real DoNotDisturb picked in Teams switches DND on again.
	h.advance(10 * time.Minute)
	h.setPresence(0, "DoNotDisturb", "DoNotDisturb")
	h.mustRun(ExitOK, "sync", "once")
	if !h.dnd(0) {
		t.Error("a real Teams DoNotDisturb after the echo guard did not switch DND on")
	}
}

func TestMirrorNeverMirrorsADNDTeamsfaceSet(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, mirrorYAML)
	h.setPresence(2, "Busy", "InACall")
	h.passes(12, 10*time.Second)
	if !h.dnd(2) {
		t.Fatal("DND not switched on for the call")
	}
	for i := range h.people {
		if n := h.presenceCalls(i, "setPresence"); n != 0 {
			t.Errorf("%s: %d setPresence calls; a DND teamsface set must not be mirrored", h.people[i].login, n)
		}
	}
}

func TestMirrorClearsSessionWhenUserLeavesTheMatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, mirrorYAML)
	h.ss.SetDND(h.people[0].sfID, true)
	h.passes(6, 10*time.Second)
	if n := h.presenceCalls(0, "setPresence"); n != 1 {
		t.Fatalf("setPresence calls = %d, want 1", n)
	}
	h.writeFile("mapping.yaml", strings.Replace(readFile(t, h.cfgPath), `exclude: ["0001"]`, `exclude: ["0001", "0002"]`, 1))
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	if n := h.presenceCalls(0, "clearPresence"); n != 1 {
		t.Errorf("clearPresence calls = %d, want 1 when the user left the match", n)
	}
}

// A small site reads every user's DND on every pass: a DND switched on by hand shows in Teams
// on the next pass, and switching it off clears the session on the pass after that, without
// the lingering pair in Teams being echoed back to STARFACE.
func TestMirrorSmallSiteReactsOnTheNextPass(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 6, mirrorYAML)
	h.gs.SetClearLag(2 * time.Minute)
	h.mustRun(ExitOK, "sync", "once")
	h.ss.SetDND(h.people[4].sfID, true)
	h.resetLogs()
	h.passes(1, 10*time.Second)
	if n := h.presenceCalls(4, "setPresence"); n != 1 {
		t.Fatalf("setPresence on the next pass: %d calls, want 1", n)
	}
	h.ss.SetDND(h.people[4].sfID, false)
	h.passes(1, 10*time.Second)
	if n := h.presenceCalls(4, "clearPresence"); n != 1 {
		t.Fatalf("clearPresence on the pass after: %d calls, want 1", n)
	}
	h.passes(6, 10*time.Second)
	if a, _ := h.gs.PresenceOf(h.people[4].entraID); a != "DoNotDisturb" {
		t.Fatalf("the double should still show the cleared pair (lag); shows %s", a)
	}
	if h.dnd(4) || h.phoneRequests("PUT") != 0 {
		t.Error("teamsface's own pair in Teams was echoed back to STARFACE")
	}
	if n := h.presenceCalls(4, "setPresence") + h.presenceCalls(4, "clearPresence"); n != 2 {
		t.Errorf("%d presence calls in all, want exactly 1 set and 1 clear", n)
	}
}

// 1,200 users are each read within poll, and no pass reads more than its budget: poll 60s,
// passes every 10s, read_rate 20/s → 200 reads a pass.
func TestMirrorReadSpreadingFor1200Users(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1200, mirrorYAML)
	h.mustRun(ExitOK, "sync", "once") // the first pass also matches users
	readAt := map[string]int{}
	const passes = 7
	for pass := 1; pass <= passes; pass++ {
		h.resetLogs()
		h.advance(10 * time.Second)
		h.mustRun(ExitOK, "sync", "once")
		gets := 0
		for _, r := range h.ss.Requests() {
			if r.Method == "GET" && strings.HasSuffix(r.Path, "/phoneconfig") {
				gets++
				readAt[r.Path] = pass
			}
		}
		if gets > 200 {
			t.Fatalf("pass %d read %d phone configs; its budget is 200", pass, gets)
		}
		if pass >= 6 && len(readAt) < 1200 {
			t.Fatalf("after %d passes (%ds) only %d of 1200 users were read; poll is 60s", pass, pass*10, len(readAt))
		}
	}
	for path, last := range readAt {
		if last <= passes-6 {
			t.Errorf("%s last read in pass %d of %d: older than poll", path, last, passes)
		}
	}
}

// Device code signs in as one user, and Microsoft has no delegated permission that sets other
// users' presence: the STARFACE → Teams direction with device code is a configuration error,
// found before any request.
func TestMirrorWithDeviceCodeIsAConfigError(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.configure(cfgOpts{auth: "device-code", tail: mirrorYAML})
	for _, args := range [][]string{{"sync", "once"}, {"mapping", "check", h.cfgPath}, {"login", "--check"}} {
		h.resetLogs()
		_, errs := h.mustRun(ExitUsage, args...)
		if !strings.Contains(errs, "Presence.ReadWrite.All") || !strings.Contains(errs, "client-secret or client-certificate") {
			t.Errorf("%v: stderr does not name the permission and the auth modes:\n%s", args, errs)
		}
		if n := len(h.gs.Requests()) + len(h.ss.Requests()); n != 0 {
			t.Errorf("%v: %d requests before the configuration error", args, n)
		}
	}
}

func TestMirrorHoldsInSyncWatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, mirrorYAML)
	h.gs.SetClearLag(2 * time.Minute)
	var out, errb bytes.Buffer
	g := &globals{deps: h.deps(&out, &errb), configFile: h.cfgPath, stateDir: h.stateDir,
		output: "table", logLevel: "warn", logFormat: "text"}
	// No test sleeps: the wait between passes moves the shared clock instead.
	g.after = func(d time.Duration) <-chan time.Time {
		h.advance(10 * time.Second)
		c := make(chan time.Time, 1)
		c <- h.clock()
		return c
	}
	r, err := g.factory("")
	if err != nil {
		t.Fatal(err)
	}
	stop, cancel := context.WithCancel(context.Background())
	passes := 0
	err = runSyncWatch(context.Background(), stop, r, syncOptions{interval: 10 * time.Second}, func(rep *pass.Report, err error) {
		passes++
		if err != nil {
			t.Errorf("pass %d: %v", passes, err)
		}
		switch passes {
		case 1:
			h.ss.SetDND(h.people[1].sfID, true)
		case 8:
			h.ss.SetDND(h.people[1].sfID, false)
		case 30:
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, c := h.presenceCalls(1, "setPresence"), h.presenceCalls(1, "clearPresence"); s != 1 || c != 1 {
		t.Errorf("setPresence %d, clearPresence %d; want 1 and 1", s, c)
	}
	if h.dnd(1) {
		t.Error("the echo switched DND on in sync watch")
	}
	st, _, _ := state.ReadOnly(h.stateDir)
	if s, ok := st.User("0003").Session(); !ok || s.Live() {
		t.Errorf("state does not remember the cleared session for the echo guard: %+v", s)
	}
}

func TestMirrorDryRunPlansSessionCalls(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, mirrorYAML)
	h.ss.SetDND(h.people[0].sfID, true)
	h.mustRun(ExitOK, "sync", "once")
	h.ss.SetDND(h.people[1].sfID, true)
	h.resetLogs()
	h.advance(2 * time.Minute)
	out, _ := h.mustRun(ExitOK, "sync", "once", "--dry-run", "-o", "json")
	rep := decodePass(t, out)
	if !hasAction(rep, "0003", pass.ActionSetPresence) {
		t.Errorf("plan = %+v, want set-presence for 0003", rep.Changes)
	}
	if n := h.presenceCalls(1, "setPresence"); n != 0 {
		t.Errorf("dry run called setPresence %d times", n)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMirrorTurnedOffClearsLeftoverSessions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, mirrorYAML)
	h.ss.SetDND(h.people[0].sfID, true)
	h.passes(6, 10*time.Second)
	if n := h.presenceCalls(0, "setPresence"); n != 1 {
		t.Fatalf("setPresence calls = %d, want 1", n)
	}
	h.writeFile("mapping.yaml", strings.Replace(readFile(t, h.cfgPath), "enabled: true", "enabled: false", 1))
	h.resetLogs()
	h.passes(2, 10*time.Second)
	if n := h.presenceCalls(0, "clearPresence"); n != 1 {
		t.Fatalf("clearPresence calls after turning the direction off = %d, want 1", n)
	}
	// Long after, a real DoNotDisturb/Presenting in Teams is the user's own again.
	h.ss.SetDND(h.people[0].sfID, false)
	h.advance(time.Hour)
	h.setPresence(0, "DoNotDisturb", "Presenting")
	h.mustRun(ExitOK, "sync", "once")
	if !h.dnd(0) {
		t.Error("an old session's echo guard still blocks the user's own presence")
	}
}

// A status the user picked by hand in Teams beats any app session: presence get says that
// colleagues see it rather than teamsface's session.
func TestPresenceGetShowsAUserPreferredPresence(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, mirrorYAML)
	h.ss.SetDND(h.people[0].sfID, true)
	h.passes(1, 10*time.Second)
	if n := h.presenceCalls(0, "setPresence"); n != 1 {
		t.Fatalf("setPresence calls = %d, want 1", n)
	}
	h.gs.SetUserPreferredPresence(h.people[0].entraID, "Available", "Available")
	out, _ := h.mustRun(ExitOK, "presence", "get", "0002", "-o", "json")
	rows := decodeJSON[[]presenceRow](t, out)
	if len(rows) != 1 || rows[0].Session != "DoNotDisturb/Presenting" || !rows[0].UserPreferred || rows[0].Availability != "Available" {
		t.Errorf("presence get = %+v, want the live session reported hidden by the user's own Available", rows)
	}
	table, _ := h.mustRun(ExitOK, "presence", "get", "0002")
	if !strings.Contains(table, "the status the user picked in Teams wins") {
		t.Errorf("the table does not say so:\n%s", table)
	}
	// Without the user's own choice, Teams shows the session, and nothing is said.
	h.gs.ClearUserPreferredPresence(h.people[0].entraID)
	out, _ = h.mustRun(ExitOK, "presence", "get", "0002", "-o", "json")
	if rows := decodeJSON[[]presenceRow](t, out); rows[0].UserPreferred || rows[0].Availability != "DoNotDisturb" {
		t.Errorf("presence get = %+v", rows)
	}
}

// With 100 users, sync watch --interval 1s and the default read_rate (20 a second), the read
// turns cover everyone every 5 passes: a DND pressed at the phone shows in Teams within 6 s,
// whoever presses it and whenever (it took up to 42 s while the turns overlapped).
func TestMirrorWatchShowsAHandSetDNDWithinSixSeconds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 100, mirrorYAML)
	var out, errb bytes.Buffer
	g := &globals{deps: h.deps(&out, &errb), configFile: h.cfgPath, stateDir: h.stateDir,
		output: "table", logLevel: "warn", logFormat: "text"}
	// The wait between passes moves the shared clock by the interval instead of sleeping.
	g.after = func(time.Duration) <-chan time.Time {
		h.advance(time.Second)
		c := make(chan time.Time, 1)
		c <- h.clock()
		return c
	}
	f, err := g.factory("")
	if err != nil {
		t.Fatal(err)
	}
	// Every 7th pass a user presses DND, each a different one, spread over the list; the
	// test sees in which pass their session is set.
	type press struct{ user, pass int }
	var presses []press
	worst, passes := 0, 0
	stop, cancel := context.WithCancel(context.Background())
	err = runSyncWatch(context.Background(), stop, f, syncOptions{interval: time.Second}, func(_ *pass.Report, err error) {
		passes++
		if err != nil {
			t.Errorf("pass %d: %v", passes, err)
		}
		for i := len(presses) - 1; i >= 0; i-- {
			p := presses[i]
			if h.presenceCalls(p.user, "setPresence") == 1 {
				worst = max(worst, passes-p.pass)
				presses = append(presses[:i], presses[i+1:]...)
			} else if passes-p.pass > 6 {
				t.Errorf("user %d pressed DND before pass %d; not in Teams after %d passes", p.user, p.pass+1, passes-p.pass)
				presses = append(presses[:i], presses[i+1:]...)
			}
		}
		if k := passes / 7; passes%7 == 1 && k < 6 {
			u := (k*37 + 11) % 100
			h.ss.SetDND(h.people[u].sfID, true)
			presses = append(presses, press{u, passes})
		}
		if passes == 6*7+8 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(presses) > 0 {
		t.Errorf("%d pressed DNDs never reached Teams", len(presses))
	}
	t.Logf("a DND pressed at the phone reached Teams within %d passes of 1 s at most", worst)
}
