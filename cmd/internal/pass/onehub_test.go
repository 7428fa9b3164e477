package pass

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamsface/teamsface/state"
)

// fakeOneHub answers PhoneStates from the fakes' phones and a set of users on a call.
type fakeOneHub struct {
	f      *fakes
	mu     sync.Mutex
	onCall map[int]bool
	stale  map[int]bool // DND OneHub reports regardless of the phone (lagging behind a write)
	fail   error
	calls  int
	looked []int
}

func (o *fakeOneHub) States(_ context.Context, users []OneHubUser) (map[int]OneHubState, map[int]string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.fail != nil {
		return nil, nil, o.fail
	}
	states, looked := map[int]OneHubState{}, map[int]string{}
	for _, u := range users {
		if u.OneHubID == "" {
			looked[u.StarfaceID] = fmt.Sprintf("oh-%d", u.StarfaceID)
			o.looked = append(o.looked, u.StarfaceID)
		}
		dnd := o.f.dnd(u.StarfaceID)
		if v, ok := o.stale[u.StarfaceID]; ok {
			dnd = v
		}
		states[u.StarfaceID] = OneHubState{DND: dnd, OnCall: o.onCall[u.StarfaceID]}
	}
	return states, looked, nil
}

const onCallYAML = "  onehub: true\nstarface_to_teams:\n  enabled: true\n  on_call: {availability: Busy, activity: InACall}\n"

// A STARFACE call shows in Teams as the on_call pair while it lasts and is cleared when it
// ends; teamsface's own Busy/InACall never turns into a STARFACE DND (rule 6); no phone config
// is read but for a write.
func TestOnCallShowsInTeamsWithoutPhoneReads(t *testing.T) {
	f := newFakes(3)
	env, _ := testEnv(t, f, onCallYAML)
	oh := &fakeOneHub{f: f, onCall: map[int]bool{}}
	env.OneHub = oh
	st := state.New()
	run(t, env, st)
	oh.onCall[3] = true
	rep := run(t, env, st)
	if f.count("set e-3") != 1 || !slices.Contains(actions(rep), "0003 set-presence") {
		t.Fatalf("call start: %v", f.calls)
	}
	if s := f.sessions["e-3"]; s.Availability != "Busy" || s.Activity != "InACall" {
		t.Errorf("session = %+v, want the on_call pair", s)
	}
	// Teams now shows our Busy/InACall, which the rules would turn into DND: it is our echo.
	rep = run(t, env, st)
	if f.dnd(3) || f.count("put 3") != 0 {
		t.Fatal("teamsface's own on_call pair switched the STARFACE DND on")
	}
	oh.onCall[3] = false
	run(t, env, st)
	if f.count("clear e-3") != 1 {
		t.Errorf("call end: %d clears, want 1", f.count("clear e-3"))
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "get ") {
			t.Errorf("a phone config was read without a write: %s", c)
		}
	}
	if len(oh.looked) != 3 {
		t.Errorf("OneHub ids looked up for %v; want each user once, then cached with the match", oh.looked)
	}
}

// A DND set by hand wins over a call: the session shows on_dnd.
func TestHandSetDNDWinsOverACall(t *testing.T) {
	f := newFakes(1)
	env, _ := testEnv(t, f, onCallYAML)
	oh := &fakeOneHub{f: f, onCall: map[int]bool{2: true}}
	env.OneHub = oh
	f.setDND(2, true)
	run(t, env, state.New())
	if s := f.sessions["e-2"]; s.Availability != "DoNotDisturb" || s.Activity != "Presenting" {
		t.Errorf("session = %+v, want on_dnd", s)
	}
}

// When OneHub cannot be read, the pass falls back to REST reads and says so in its report.
func TestOneHubFailureFallsBackToREST(t *testing.T) {
	f := newFakes(2)
	env, _ := testEnv(t, f, onCallYAML)
	oh := &fakeOneHub{f: f, fail: errors.New("starface onehub: subscribe: permission denied")}
	env.OneHub = oh
	f.setDND(2, true)
	rep := run(t, env, state.New())
	if rep.OneHubFailed == nil || !strings.Contains(rep.OneHubFailed.Error(), "permission denied") {
		t.Errorf("report does not say OneHub failed: %v", rep.OneHubFailed)
	}
	if f.count("get 2") != 1 || f.count("set e-2") != 1 {
		t.Errorf("fallback: %v; want a REST read and the session", f.calls)
	}
}

// OneHub's view may lag behind teamsface's own write: an owned DND it shows off is read over
// REST before ownership is dropped, so the DND is still released when the call ends.
func TestLaggingOneHubDoesNotDropOwnership(t *testing.T) {
	f := newFakes(1)
	env, _ := testEnv(t, f, onCallYAML)
	oh := &fakeOneHub{f: f, onCall: map[int]bool{}, stale: map[int]bool{}}
	env.OneHub = oh
	st := state.New()
	f.setPresence("e-2", "Busy", "InACall")
	run(t, env, st)
	if !f.dnd(2) || !st.User("0002").Owned() {
		t.Fatal("setup: DND not switched on and owned")
	}
	oh.stale[2] = false // OneHub has not seen the write yet
	run(t, env, st)
	if !st.User("0002").Owned() {
		t.Fatal("OneHub's lagging view dropped the ownership")
	}
	delete(oh.stale, 2)
	f.setPresence("e-2", "Available", "Available")
	run(t, env, st)
	if f.dnd(2) {
		t.Error("the owned DND was not released when the call ended")
	}
}

// A refreshed match held back by the drop guard keeps the OneHub ids cached with the old one.
func TestHeldMatchKeepsOneHubIDs(t *testing.T) {
	f := newFakes(10)
	env, now := testEnv(t, f, onCallYAML)
	oh := &fakeOneHub{f: f, onCall: map[int]bool{}}
	env.OneHub = oh
	st := state.New()
	run(t, env, st)
	for i := range f.entra {
		f.entra[i].Mail, f.entra[i].UserPrincipalName = "gone"+f.entra[i].ID, "gone"+f.entra[i].ID
	}
	*now = now.Add(time.Hour)
	rep := run(t, env, st)
	if rep.Held == nil {
		t.Fatal("the drop was not held")
	}
	ids := 0
	for _, e := range st.Match().Entries {
		if e.OneHubID != "" {
			ids++
		}
	}
	if ids != 10 {
		t.Errorf("%d OneHub ids kept with the held match, want 10", ids)
	}
}
