package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
	"github.com/teamsface/teamsface/state"
)

// When a login's match moves to another Entra user, the session set on the old one is cleared
// there; a clear that fails is tried again by the next pass instead of being forgotten.
func TestSessionOfAMovedMatchIsClearedOnTheOldEntraUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, mirrorYAML)
	h.ss.SetDND(h.people[0].sfID, true) // by hand
	h.passes(6, 10*time.Second)
	old := h.people[0].entraID
	if len(h.gs.Sessions(old)) != 1 {
		t.Fatalf("no session set on %s for a hand-set DND", old)
	}
	// 0002 is now matched, by an override, with another Entra user.
	const moved = "00000000-0000-4000-8000-000000000099"
	h.gs.AddUser(graphtest.User{ID: moved, DisplayName: "Moved", Mail: "moved@contoso.example",
		UserPrincipalName: "moved@contoso.example", AccountEnabled: true, Availability: "Available", Activity: "Available"})
	h.writeFile("mapping.yaml", strings.Replace(readFile(t, h.cfgPath), `exclude: ["0001"]`,
		"exclude: [\"0001\"]\n  overrides: {\"0002\": moved@contoso.example}", 1))
	clear := "/v1.0/users/" + old + "/presence/clearPresence"
	h.gs.AddFault(graphtest.Fault{Method: "POST", Path: clear, Status: 500, Times: 1})
	h.resetLogs()

	h.advance(10 * time.Second)
	h.mustRun(ExitPartial, "sync", "once")
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	if n := h.gs.CountRequests("POST", clear); n != 2 {
		t.Errorf("clearPresence on the old Entra user: %d requests, want 2 (failed, then retried)", n)
	}
	if s := h.gs.Sessions(old); len(s) != 0 {
		t.Errorf("the old Entra user still shows teamsface's session: %+v", s)
	}
	if len(h.gs.Sessions(moved)) != 1 {
		t.Error("the newly matched Entra user got no session for the hand-set DND")
	}
}

// Failures counts consecutive failed passes: one failed read no longer leaves it set for ever.
func TestFailuresEndWithTheFirstGoodPass(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.setPresence(0, "Busy", "InACall")
	h.ss.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/users/2/phoneconfig", Status: 404, Times: 1})
	h.mustRun(ExitPartial, "sync", "once")
	st, _, err := state.ReadOnly(h.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if u := st.User("0002"); u == nil || u.Failures() != 1 || u.LastError() == "" {
		t.Fatalf("after a failed read: %+v", u)
	}
	// The call ends before the next pass: nothing to write, and the failure is over.
	h.setPresence(0, "Available", "Available")
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	st, _, _ = state.ReadOnly(h.stateDir)
	if u := st.User("0002"); u.Failures() != 0 || u.LastError() != "" {
		t.Errorf("after a good pass: failures %d, last error %q; want none", u.Failures(), u.LastError())
	}
}

// A user with several changes in one pass has them listed in the order they happened, in every
// run: here an earlier run's write settled, then released, for 30 users at once.
func TestChangesOfOneUserKeepTheirOrder(t *testing.T) {
	t.Parallel()
	for round := 0; round < 3; round++ {
		h := newHarness(t, 30, "")
		h.mustRun(ExitOK, "sync", "once")
		st, err := state.Open(h.stateDir, 0)
		if err != nil {
			t.Fatal(err)
		}
		var intents []state.Intent
		for _, p := range h.people {
			intents = append(intents, state.Intent{Login: p.login, StarfaceID: p.sfID, Want: true, Before: false})
			h.ss.SetDND(p.sfID, true) // the dead run's writes landed
		}
		if err := st.RecordIntents(intents); err != nil {
			t.Fatal(err)
		}
		st.Close()
		out, _ := h.mustRun(ExitOK, "sync", "once", "-o", "json")
		rep := decodePass(t, out)
		var got []string
		for _, c := range rep.Changes {
			got = append(got, c.Login+" "+c.Action)
		}
		var want []string
		for _, p := range h.people {
			want = append(want, p.login+" "+pass.ActionSettled, p.login+" "+pass.ActionRelease)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			b, _ := json.Marshal(got)
			t.Fatalf("round %d: changes in order %s", round, b)
		}
	}
}

// The first SIGINT/SIGTERM lets the pass in flight finish and save its state, then sync watch
// ends with 0; no new pass starts.
func TestFirstSignalFinishesThePassInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.setPresence(0, "Busy", "InACall")
	presence := "/v1.0/communications/getPresencesByUserId"
	h.gs.AddFault(graphtest.Fault{Path: presence, Delay: 100 * time.Millisecond, Times: 1})
	sigs := make(chan os.Signal, 2)
	var out, errb syncBuffer
	deps := h.deps(nil, nil)
	deps.Stdout, deps.Stderr, deps.Signals = &out, &errb, sigs
	deps.Exit = func(code int) { t.Errorf("exit(%d) after one signal", code) }
	go func() {
		waitFor(t, "the first presence request", func() bool { return h.gs.CountRequests("POST", presence) > 0 })
		sigs <- os.Interrupt
	}()
	if code := h.runWith(context.Background(), deps, "sync", "watch", "--interval", "1s"); code != ExitOK {
		t.Fatalf("exit %d, want 0\n%s", code, errb.String())
	}
	if n := h.gs.CountRequests("POST", presence); n != 1 {
		t.Errorf("%d presence requests: a new pass started after the signal", n)
	}
	if !h.dnd(0) {
		t.Error("the pass in flight did not finish its write")
	}
	st, _, _ := state.ReadOnly(h.stateDir)
	if u := st.User("0002"); u == nil || !u.Owned() {
		t.Error("the pass in flight did not save its state")
	}
	if !strings.Contains(errb.String(), "finishing the pass in flight") {
		t.Errorf("stderr does not say what happens:\n%s", errb.String())
	}
}

// A second signal ends the process at once, even while the pass sits in Graph's retry wait.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	presence := "/v1.0/communications/getPresencesByUserId"
	h.gs.AddFault(graphtest.Fault{Path: presence, Status: 503, RetryAfter: "8"})
	sigs := make(chan os.Signal, 2)
	exited := make(chan int, 1)
	var out, errb syncBuffer
	deps := h.deps(nil, nil)
	deps.Stdout, deps.Stderr, deps.Signals = &out, &errb, sigs
	deps.Exit = func(code int) { exited <- code }
	go func() {
		waitFor(t, "the throttled presence request", func() bool { return h.gs.CountRequests("POST", presence) > 0 })
		sigs <- syscall.SIGTERM
		sigs <- syscall.SIGTERM
	}()
	done := make(chan int, 1)
	go func() { done <- h.runWith(context.Background(), deps, "sync", "once") }()
	select {
	case code := <-exited:
		if code != exitInterrupted {
			t.Errorf("exit(%d), want %d", code, exitInterrupted)
		}
	case <-done:
		t.Fatalf("sync once ended without the immediate exit\n%s", errb.String())
	}
	<-done
	if n := h.gs.CountRequests("POST", presence); n != 1 {
		t.Errorf("%d presence requests: the retry wait was not cut short", n)
	}
	if !strings.Contains(errb.String(), "stopping at once") {
		t.Errorf("stderr does not say it stops:\n%s", errb.String())
	}
}
