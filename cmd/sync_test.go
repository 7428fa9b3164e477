package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
	"github.com/teamsface/teamsface/state"
)

func decodePass(t *testing.T, out string) pass.Report {
	t.Helper()
	var rep pass.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("sync once -o json printed no JSON: %v\n%s", err, out)
	}
	return rep
}

func TestSyncFirstPassSwitchesOnExactlyTheUsersInCalls(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 6, "")
	h.setPresence(0, "Busy", "InACall")
	h.setPresence(2, "Busy", "InAConferenceCall")
	h.setPresence(3, "DoNotDisturb", "Presenting")
	h.setPresence(4, "Away", "Away")

	out, _ := h.mustRun(ExitOK, "sync", "once", "-o", "json")
	rep := decodePass(t, out)
	if rep.Summary.SwitchedOn != 3 || rep.Summary.Matched != 6 || rep.Summary.Failed != 0 {
		t.Errorf("summary = %+v, want 3 switched on of 6 matched", rep.Summary)
	}
	want := map[int]bool{h.people[0].sfID: true, h.people[2].sfID: true, h.people[3].sfID: true}
	if got := h.puts(); !equalSets(got, want) {
		t.Errorf("phone configs written for %v, want %v", got, want)
	}
	for i := range h.people {
		if got := h.dnd(i); got != want[h.people[i].sfID] {
			t.Errorf("%s: DND %v, want %v", h.people[i].login, got, !got)
		}
	}
	// The read-modify-write changed nothing but doNotDisturb.
	pc := h.ss.PhoneConfigOf(h.people[0].sfID)
	if !pc.CallWaiting || pc.DisplayNumberID != 7 || pc.PrimaryPhoneID != 9 {
		t.Errorf("other phone-config fields changed: %+v", pc)
	}
	// Two STARFACE requests per change, none for the others.
	if g, p := h.phoneRequests("GET"), h.phoneRequests("PUT"); g != 3 || p != 3 {
		t.Errorf("phone-config requests: %d GET, %d PUT; want 3 and 3", g, p)
	}
	if n := h.gs.CountRequests("POST", "/v1.0/communications/getPresencesByUserId"); n != 1 {
		t.Errorf("presence requests = %d, want 1", n)
	}
}

func TestSyncSecondPassWithoutChangeMakesNoPhoneRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 5, "")
	h.setPresence(1, "Busy", "InACall")
	h.mustRun(ExitOK, "sync", "once")
	h.resetLogs()
	h.advance(10 * time.Second)

	h.mustRun(ExitOK, "sync", "once")
	if n := h.phoneRequests("GET") + h.phoneRequests("PUT"); n != 0 {
		t.Errorf("second pass made %d phone-config requests, want 0", n)
	}
	if n := h.ss.CountRequests("POST", "/rest/login"); n != 0 {
		t.Errorf("second run logged in to STARFACE %d times, want 0 (token reused)", n)
	}
	if n := h.gs.TokenRequests(); n != 0 {
		t.Errorf("second run asked Entra for %d tokens, want 0 (token cached)", n)
	}
}

func TestSyncNeverClearsAHandSetDND(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, "")
	h.ss.SetDND(h.people[0].sfID, true) // pressed by hand
	h.setPresence(0, "Busy", "InACall")
	out, _ := h.mustRun(ExitOK, "sync", "once", "-o", "json")
	rep := decodePass(t, out)
	if len(h.puts()) != 0 {
		t.Fatalf("wrote a phone config although DND was already on: %v", h.puts())
	}
	if len(rep.Changes) != 1 || rep.Changes[0].Action != pass.ActionAlreadyOn {
		t.Errorf("changes = %+v, want one %s", rep.Changes, pass.ActionAlreadyOn)
	}
	// The call ends: the hand-set DND stays.
	h.setPresence(0, "Available", "Available")
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	if !h.dnd(0) {
		t.Fatal("a hand-set DND was cleared")
	}
	if n := h.phoneRequests("PUT"); n != 0 {
		t.Errorf("%d phone-config writes, want none", n)
	}
}

func TestSyncReleasesOwnedDNDWhenAvailable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, "")
	h.setPresence(0, "Busy", "InAMeeting")
	h.mustRun(ExitOK, "sync", "once")
	if !h.dnd(0) {
		t.Fatal("DND not switched on for a meeting")
	}
	h.setPresence(0, "Available", "Available")
	h.advance(10 * time.Second)
	out, _ := h.mustRun(ExitOK, "sync", "once", "-o", "json")
	if h.dnd(0) {
		t.Fatal("owned DND not released when Teams went Available")
	}
	if rep := decodePass(t, out); rep.Summary.Released != 1 {
		t.Errorf("summary = %+v, want 1 released", rep.Summary)
	}
}

func TestSyncPresenceUnknownKeeps(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.setPresence(0, "Busy", "InACall")
	h.mustRun(ExitOK, "sync", "once")
	h.setPresence(0, "PresenceUnknown", "PresenceUnknown")
	h.resetLogs()
	out, _ := h.mustRun(ExitOK, "sync", "once", "-o", "json")
	if !h.dnd(0) {
		t.Fatal("PresenceUnknown released the DND")
	}
	if rep := decodePass(t, out); rep.Summary.Kept != 1 {
		t.Errorf("summary = %+v, want 1 kept", rep.Summary)
	}
	if n := h.phoneRequests("GET") + h.phoneRequests("PUT"); n != 0 {
		t.Errorf("%d phone-config requests for a kept user, want 0", n)
	}
}

func TestSyncOneUsersFailureIsPartialAndRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 4, "")
	for i := 0; i < 3; i++ {
		h.setPresence(i, "Busy", "InACall")
	}
	h.ss.AddFault(starfacetest.Fault{Method: "PUT", Path: "/rest/users/3/phoneconfig", Status: 500, Times: 1})
	out, errs := h.mustRun(ExitPartial, "sync", "once", "-o", "json")
	rep := decodePass(t, out)
	if rep.Summary.Failed != 1 || rep.Summary.SwitchedOn != 2 {
		t.Errorf("summary = %+v, want 2 switched on and 1 failed", rep.Summary)
	}
	if !strings.Contains(errs, "0003") {
		t.Errorf("stderr does not name the failed user:\n%s", errs)
	}
	if !h.dnd(0) || h.dnd(1) || !h.dnd(2) {
		t.Fatalf("DND after the partial pass: %v %v %v, want on off on", h.dnd(0), h.dnd(1), h.dnd(2))
	}
	h.resetLogs()
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	if !h.dnd(1) {
		t.Fatal("the failed user was not retried")
	}
	if got := h.puts(); len(got) != 1 || !got[3] {
		t.Errorf("retry pass wrote %v, want only user 3", got)
	}
	// The others' ownership survived the failure: they are released when their calls end.
	for i := 0; i < 3; i++ {
		h.setPresence(i, "Available", "Available")
	}
	h.mustRun(ExitOK, "sync", "once")
	if h.dnd(0) || h.dnd(1) || h.dnd(2) {
		t.Error("owned DNDs not released after the failure was retried")
	}
}

func TestSyncDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, "")
	h.mustRun(ExitOK, "sync", "once")
	before, err := os.ReadFile(filepath.Join(h.stateDir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	h.setPresence(0, "Busy", "InACall")
	h.resetLogs()
	out, _ := h.mustRun(ExitOK, "sync", "once", "--dry-run", "-o", "json")
	rep := decodePass(t, out)
	if len(rep.Changes) != 1 || rep.Changes[0].Action != pass.ActionSwitchOn || rep.Changes[0].Login != "0002" {
		t.Errorf("plan = %+v, want dnd-on for 0002", rep.Changes)
	}
	if n := h.phoneRequests("PUT"); n != 0 || h.dnd(0) {
		t.Errorf("dry run wrote %d phone configs", n)
	}
	after, _ := os.ReadFile(filepath.Join(h.stateDir, "state.json"))
	if !bytes.Equal(before, after) {
		t.Error("dry run changed state.json")
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, "journal")); err == nil {
		if b, _ := os.ReadFile(filepath.Join(h.stateDir, "journal")); len(b) > 0 {
			t.Error("dry run recorded intents")
		}
	}
}

func TestSyncSettlesAWriteThatOutlivedItsRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.mustRun(ExitOK, "sync", "once")
	// A run recorded its intent, wrote DND on, and was killed before saving.
	st, err := state.Open(h.stateDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordIntents([]state.Intent{{Login: "0002", StarfaceID: 2, Want: true, Before: false}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	h.ss.SetDND(2, true)
	h.setPresence(0, "Busy", "InACall")

	out, _ := h.mustRun(ExitOK, "sync", "once", "-o", "json")
	rep := decodePass(t, out)
	if !hasAction(rep, "0002", pass.ActionSettled) {
		t.Errorf("changes = %+v, want the earlier write settled", rep.Changes)
	}
	if n := h.phoneRequests("PUT"); n != 0 {
		t.Errorf("%d writes, want none: the DND the dead run wrote is already on", n)
	}
	// The settled DND is owned: it is released when the call ends.
	h.setPresence(0, "Available", "Available")
	h.mustRun(ExitOK, "sync", "once")
	if h.dnd(0) {
		t.Error("the settled DND was not owned: not released")
	}
}

func TestSyncIntentThatDidNotLandIsDropped(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.mustRun(ExitOK, "sync", "once")
	st, err := state.Open(h.stateDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	st.RecordIntents([]state.Intent{{Login: "0002", StarfaceID: 2, Want: true, Before: false}})
	st.Close()
	// Killed before the write: DND still off. Then the user sets DND by hand while Available.
	h.ss.SetDND(2, true)
	h.ss.SetDND(2, false)
	h.mustRun(ExitOK, "sync", "once")
	h.ss.SetDND(2, true)
	h.setPresence(0, "Available", "Available")
	h.mustRun(ExitOK, "sync", "once")
	if !h.dnd(0) {
		t.Error("a hand-set DND was cleared after an unlanded intent")
	}
}

func TestSyncSecondConcurrentRunExits5(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	st, err := state.Open(h.stateDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, errs := h.mustRun(ExitLocked, "sync", "once")
	if !strings.Contains(errs, "lock") {
		t.Errorf("stderr does not mention the lock:\n%s", errs)
	}
}

func TestSyncCorruptStateExits1AndResetStateRecovers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	h.mustRun(ExitOK, "sync", "once")
	if err := os.WriteFile(filepath.Join(h.stateDir, "state.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs := h.mustRun(ExitFailure, "sync", "once")
	if !strings.Contains(errs, "--reset-state") {
		t.Errorf("the message does not say how to start afresh:\n%s", errs)
	}
	h.mustRun(ExitOK, "sync", "once", "--reset-state")
}

func TestSyncWatchStopsCleanlyAndSavesState(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, "")
	h.setPresence(0, "Busy", "InACall")
	var out, errb bytes.Buffer
	g := &globals{deps: h.deps(&out, &errb), configFile: h.cfgPath, stateDir: h.stateDir, output: "table", logLevel: "warn", logFormat: "text"}
	// The wait between passes moves the shared clock instead of sleeping.
	var waits []time.Duration
	g.after = func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		h.advance(d)
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
		if passes == 1 {
			h.setPresence(0, "Available", "Available")
		}
		if passes == 2 {
			cancel()
		}
	})
	if err != nil {
		t.Fatalf("sync watch: %v", err)
	}
	if passes != 2 {
		t.Errorf("passes = %d, want 2", passes)
	}
	// One wait between the two passes, of the interval less the first pass's time; none after
	// the stop.
	if len(waits) != 1 || waits[0] <= 0 || waits[0] > 10*time.Second {
		t.Errorf("waits between passes = %v, want one of at most 10s", waits)
	}
	if h.dnd(0) {
		t.Error("DND still on after the call ended")
	}
	if !strings.Contains(out.String(), "dnd-on") || !strings.Contains(out.String(), "release") {
		t.Errorf("watch output lacks the changes:\n%s", out.String())
	}
	ro, _, err := state.ReadOnly(h.stateDir)
	if err != nil || ro.User("0002") == nil || ro.User("0002").Owned() {
		t.Errorf("saved state after watch: %+v, %v", ro.User("0002"), err)
	}
}

func TestSyncWatchAuthFailureExits4(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	h.writeFile("client-secret", "wrong-secret")
	_, errs := h.mustRun(ExitAuth, "sync", "watch", "--interval", "1s")
	if strings.Contains(errs, "wrong-secret") || strings.Contains(errs, testPassword) {
		t.Errorf("stderr shows a secret:\n%s", errs)
	}
}

func TestSyncRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"unknown flag", []string{"sync", "once", "--bogus"}, ExitUsage},
		{"unknown command", []string{"sink"}, ExitUsage},
		{"bad output", []string{"sync", "once", "-o", "xml"}, ExitUsage},
		{"short interval", []string{"sync", "watch", "--interval", "10ms"}, ExitUsage},
		{"dry run and reset", []string{"sync", "once", "--dry-run", "--reset-state"}, ExitUsage},
	}
	h := newHarness(t, 1, "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, errs := h.run(tc.args...); code != tc.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.want, errs)
			}
		})
	}
}

func TestSyncMetricsFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, "")
	h.setPresence(0, "Busy", "InACall")
	metrics := filepath.Join(h.dir, "teamsface.prom")
	h.mustRun(ExitOK, "sync", "once", "--metrics-file", metrics)
	b, err := os.ReadFile(metrics)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"teamsface_pass_success 1",
		`teamsface_users{status="matched"} 3`,
		`teamsface_pass_changes{kind="dnd_on"} 1`,
		"teamsface_pass_graph_requests ",
		"teamsface_pass_starface_requests ",
		// The client library's format of 1795424400 (scriptStart).
		"teamsface_last_success_timestamp_seconds 1.7954244e+09",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
}

func TestSyncTraceLogsExplainWithoutSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.setPresence(0, "Busy", "InACall")
	_, errs := h.mustRun(ExitOK, "sync", "once", "--log-level", "trace")
	if !strings.Contains(errs, "decision") || !strings.Contains(errs, "InACall") {
		t.Errorf("trace log does not explain the decision:\n%s", errs)
	}
	for _, secret := range []string{testSecret, testPassword} {
		if strings.Contains(errs, secret) {
			t.Fatalf("trace log contains a secret")
		}
	}
	tokens, _ := os.ReadFile(filepath.Join(h.stateDir, "token-graph.json"))
	var cached map[string]any
	_ = json.Unmarshal(tokens, &cached)
	for _, tok := range collectStrings(cached) {
		if len(tok) > 40 && strings.Contains(errs, tok) {
			t.Fatalf("trace log contains a cached token")
		}
	}
}

func collectStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case map[string]any:
		for _, e := range x {
			out = append(out, collectStrings(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, collectStrings(e)...)
		}
	}
	return out
}

func hasAction(rep pass.Report, login, action string) bool {
	for _, c := range rep.Changes {
		if c.Login == login && c.Action == action {
			return true
		}
	}
	return false
}

func equalSets(a, b map[int]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func TestSyncReleasesOwnedDNDWhenUserLeavesTheMatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, "")
	h.setPresence(0, "Busy", "InACall")
	h.ss.SetDND(h.people[1].sfID, true) // by hand: not teamsface's to touch
	h.mustRun(ExitOK, "sync", "once")
	if !h.dnd(0) {
		t.Fatal("DND not switched on for the call")
	}
	// The admin excludes both users while 0002 is still in the call.
	h.writeFile("mapping.yaml", strings.Replace(readFile(t, h.cfgPath), `exclude: ["0001"]`, `exclude: ["0001", "0002", "0003"]`, 1))
	h.resetLogs()
	out, _ := h.mustRun(ExitOK, "sync", "once", "-o", "json")
	if h.dnd(0) {
		t.Error("an owned DND stayed on after its user left the match")
	}
	if !h.dnd(1) {
		t.Error("a hand-set DND was cleared when its user left the match")
	}
	if rep := decodePass(t, out); rep.Summary.Released != 1 {
		t.Errorf("summary = %+v, want 1 released", rep.Summary)
	}
	st, _, _ := state.ReadOnly(h.stateDir)
	if st.User("0002") != nil || st.User("0003") != nil {
		t.Errorf("users who left are still in the state: %v", st.Logins())
	}
}

func TestSyncWatchBacksOffAfterAFailedPassAndRecovers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.setPresence(0, "Busy", "InACall")
	h.gs.AddFault(graphtest.Fault{Path: "/v1.0/communications/getPresencesByUserId", Status: 500, Times: 3})
	var out, errb bytes.Buffer
	g := &globals{deps: h.deps(&out, &errb), configFile: h.cfgPath, stateDir: h.stateDir,
		output: "table", logLevel: "error", logFormat: "text"}
	var waits []time.Duration
	g.after = func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		c := make(chan time.Time, 1)
		c <- time.Now()
		return c
	}
	r, err := g.factory("")
	if err != nil {
		t.Fatal(err)
	}
	stop, cancel := context.WithCancel(context.Background())
	var errs []error
	err = runSyncWatch(context.Background(), stop, r, syncOptions{interval: 10 * time.Second}, func(_ *pass.Report, err error) {
		errs = append(errs, err)
		if len(errs) == 5 {
			cancel()
		}
	})
	if err != nil {
		t.Fatalf("sync watch: %v", err)
	}
	for i, e := range errs {
		if (i < 3) != (e != nil) {
			t.Errorf("pass %d: error %v; want the first three to fail", i+1, e)
		}
	}
	// The pause doubles from the interval while passes fail, then the interval returns.
	if len(waits) < 4 || waits[0] != 10*time.Second || waits[1] != 20*time.Second || waits[2] != 40*time.Second || waits[3] > 10*time.Second {
		t.Errorf("waits = %v, want 10s 20s 40s then at most the interval", waits)
	}
	if !h.dnd(0) {
		t.Error("the pass after the failures did not apply the call's DND")
	}
	if !strings.Contains(errb.String(), "pass failed") {
		t.Errorf("failed passes were not logged:\n%s", errb.String())
	}
}

func TestNextPauseHonoursRetryAfterAndCaps(t *testing.T) {
	t.Parallel()
	throttled := &graph.Error{Status: 429, RetryAfter: 90 * time.Second}
	tests := []struct {
		prev time.Duration
		err  error
		want time.Duration
	}{
		{0, errors.New("x"), 10 * time.Second},
		{10 * time.Second, errors.New("x"), 20 * time.Second},
		{40 * time.Second, errors.New("x"), time.Minute}, // after an outage, back within a minute
		{4 * time.Minute, errors.New("x"), time.Minute},
		{0, fmt.Errorf("read Teams presence: %w", throttled), 90 * time.Second},
	}
	for _, tc := range tests {
		if got := nextPause(tc.prev, 10*time.Second, tc.err); got != tc.want {
			t.Errorf("nextPause(%v, %v) = %v, want %v", tc.prev, tc.err, got, tc.want)
		}
	}
}

func TestSyncPartialPresenceFailureKeepsTheRest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 700, "")           // two presence requests
	h.setPresence(0, "Busy", "InACall")   // in the first request
	h.setPresence(690, "Busy", "InACall") // in the second
	h.gs.AddFault(graphtest.Fault{Path: "/v1.0/communications/getPresencesByUserId", Status: 500, Times: 1})
	out, _ := h.mustRun(ExitPartial, "sync", "once", "-o", "json")
	rep := decodePass(t, out)
	// Whichever request the fault hit, its users (650 or 50) failed and the others went on.
	if f := rep.Summary.Failed; (f != 650 && f != 50) || rep.Summary.SwitchedOn != 1 || rep.Summary.Matched-f != rep.Summary.PresenceRead {
		t.Errorf("summary = %+v, want one request's users failed and 1 switched on", rep.Summary)
	}
	if h.dnd(0) == h.dnd(690) {
		t.Errorf("DND %v and %v: want exactly the answered request's user switched on", h.dnd(0), h.dnd(690))
	}
	h.mustRun(ExitOK, "sync", "once")
	if !h.dnd(0) || !h.dnd(690) {
		t.Error("the users of the failed request were not synced in the next pass")
	}
}
