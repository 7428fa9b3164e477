package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/starface/starfacetest"
	"github.com/teamsface/teamsface/state"
)

// teamsface release switches back every DND teamsface owns, clears every Teams session it set
// and forgets them; a DND set by hand stays; a user whose release fails stays remembered and the
// run exits 3, so that running it again finishes the job.
func TestRelease(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 5, mirrorYAML)
	h.setPresence(0, "Busy", "InACall")            // 0002: teamsface switches DND on
	h.ss.SetDND(h.people[1].sfID, true)            // 0003: set by hand, shown in Teams
	h.setPresence(2, "Busy", "InAMeeting")         // 0004: switched on, then off by hand
	h.setPresence(3, "DoNotDisturb", "Presenting") // 0005: switched on; its release fails once
	h.passes(1, 10*time.Second)
	if !h.dnd(0) || !h.dnd(2) || !h.dnd(3) || len(h.gs.Sessions(h.people[1].entraID)) != 1 {
		t.Fatal("setup: the pass did not switch DND on and set the session")
	}
	h.ss.SetDND(h.people[2].sfID, false)
	h.resetLogs()

	out, errs := h.mustRun(ExitOK, "release", "--dry-run")
	if n := h.phoneRequests("PUT"); n != 0 || !h.dnd(0) || len(h.gs.Sessions(h.people[1].entraID)) != 1 {
		t.Fatalf("a dry run changed something (%d writes)", n)
	}
	if !strings.Contains(errs, "would release 2 DNDs and clear 1 Teams session") || !strings.Contains(out, "0002") {
		t.Errorf("dry run:\n%s\n%s", errs, out)
	}

	h.ss.AddFault(starfacetest.Fault{Method: "PUT", Path: "/rest/users/5/phoneconfig", Status: 500, Times: 1})
	_, errs = h.mustRun(ExitPartial, "release")
	if h.dnd(0) || !h.dnd(1) || h.dnd(2) || !h.dnd(3) {
		t.Errorf("after release: DND %v %v %v %v, want off, on (by hand), off, on (failed)", h.dnd(0), h.dnd(1), h.dnd(2), h.dnd(3))
	}
	if s := h.gs.Sessions(h.people[1].entraID); len(s) != 0 {
		t.Errorf("the Teams session is still up: %+v", s)
	}
	if !strings.Contains(errs, "1 user still remembered (run it again)") {
		t.Errorf("stderr:\n%s", errs)
	}
	st, _, _ := state.ReadOnly(h.stateDir)
	if got := st.Logins(); len(got) != 1 || got[0] != "0005" {
		t.Errorf("remembered after a partial release: %v, want only 0005", got)
	}

	h.mustRun(ExitOK, "release")
	if h.dnd(3) {
		t.Error("the second release did not switch 0005's DND back")
	}
	st, _, _ = state.ReadOnly(h.stateDir)
	if st.Len() != 0 {
		t.Errorf("remembered after the release: %v", st.Logins())
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, "match.json")); !os.IsNotExist(err) {
		t.Errorf("match.json kept after everything was released: %v", err)
	}
	// Released is released: a run on the emptied state changes nothing.
	h.resetLogs()
	h.mustRun(ExitOK, "release")
	if n := len(h.ss.Requests()) + len(h.gs.Requests()); n != 0 {
		t.Errorf("a release of an empty state made %d requests", n)
	}
}

// A release that cannot check what a killed run wrote (its phone cannot be read) is not done: exit
// 3, the intent stays in the journal and the match is kept, so that the next release finds and
// releases the DND (a package removal takes exit 0 as "nothing left on any phone").
func TestReleaseWithAnUncheckedWriteIsNotDone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.mustRun(ExitOK, "sync", "once")
	// A run switched 0002's DND on and was killed before recording it.
	h.ss.SetDND(h.people[0].sfID, true)
	in := `{"login":"0002","starface_id":2,"want":true,"at":"2026-11-23T09:00:00Z"}` + "\n"
	h.writeFile("state/journal", in)
	h.ss.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/users/2/phoneconfig", Status: 503, Times: 10})
	var out, errb bytes.Buffer
	deps := h.deps(&out, &errb)
	deps.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() } // the retries' pauses
	if code := h.runWith(context.Background(), deps, "release"); code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s", code, ExitPartial, errb.String())
	}
	if !strings.Contains(errb.String(), "1 write of an earlier run could not be checked and stay in the journal") {
		t.Errorf("stderr:\n%s", errb.String())
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, "match.json")); err != nil {
		t.Errorf("the match was forgotten: %v", err)
	}
	h.ss.ClearFaults()
	h.mustRun(ExitOK, "release")
	if h.dnd(0) {
		t.Error("the DND the killed run switched on is still on after the second release")
	}
}
