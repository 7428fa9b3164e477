package pass

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

// TestPlanDecidesPerUser checks the plan of one user, from what teamsface remembers, what Teams
// shows and what the phone says, against DESIGN.md rules 2–5.
func TestPlanDecidesPerUser(t *testing.T) {
	tests := []struct {
		name       string
		before     func(f *fakes, st *state.State, env Env) // earlier passes
		avail, act string
		handDND    bool
		wantDND    mapping.DNDStep
		wantWrite  [2]bool // want, before
		wantReads  int
	}{
		{"in a call: switch on", nil, "Busy", "InACall", false, mapping.DNDSwitchOn, [2]bool{true, false}, 1},
		{"in a call, DND on by hand: already on, no write", nil, "Busy", "InACall", true, mapping.DNDAlreadyOn, [2]bool{}, 1},
		{"available with nothing owned: holds without a read", nil, "Available", "Available", false, mapping.DNDHolds, [2]bool{}, 0},
		{"unknown presence keeps", nil, "PresenceUnknown", "PresenceUnknown", false, mapping.DNDNothing, [2]bool{}, 0},
		{"owned and the call ended: release", func(f *fakes, st *state.State, env Env) {
			f.setPresence("e-2", "Busy", "InACall")
			mustRun(env, st)
		}, "Available", "Available", false, mapping.DNDRelease, [2]bool{false, true}, 1},
		{"still in the call: applied, no read", func(f *fakes, st *state.State, env Env) {
			f.setPresence("e-2", "Busy", "InACall")
			mustRun(env, st)
		}, "Busy", "InAConferenceCall", false, mapping.DNDHolds, [2]bool{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakes(1)
			env, _ := testEnv(t, f, "")
			st := state.New()
			if tt.before != nil {
				tt.before(f, st, env)
			}
			f.setPresence("e-2", tt.avail, tt.act)
			if tt.handDND {
				f.setDND(2, true)
			}
			p, err := PlanPass(context.Background(), env, st, PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			up := p.Users[0]
			if up.DND != tt.wantDND || (up.Writes() && [2]bool{up.Want, up.Before} != tt.wantWrite) {
				t.Errorf("plan: DND step %d want/before %v/%v, want %d %v", up.DND, up.Want, up.Before, tt.wantDND, tt.wantWrite)
			}
			if p.Summary.PhoneReads != tt.wantReads {
				t.Errorf("phone reads = %d, want %d", p.Summary.PhoneReads, tt.wantReads)
			}
			if f.count("put 2") != 0 && tt.before == nil {
				t.Error("planning wrote a phone config")
			}
		})
	}
}

func mustRun(env Env, st *state.State) {
	if _, err := runPass(context.Background(), env, st, nil, Options{}); err != nil {
		panic(err)
	}
}

// Planning changes nothing: not the services, not the state.
func TestPlanChangesNothing(t *testing.T) {
	f := newFakes(3)
	env, _ := testEnv(t, f, "starface_to_teams:\n  enabled: true\n")
	st := state.New()
	f.setPresence("e-2", "Busy", "InACall")
	f.setDND(3, true)
	before := fmt.Sprintf("%+v", st)
	p, err := PlanPass(context.Background(), env, st, PlanOptions{ReadAll: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%+v", st); got != before || st.Len() != 0 {
		t.Errorf("Plan changed the state: %s", got)
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "put ") || strings.HasPrefix(c, "set ") || strings.HasPrefix(c, "clear ") {
			t.Errorf("Plan wrote: %s", c)
		}
	}
	if p.Users[0].DND != mapping.DNDSwitchOn || p.Users[1].Session != mapping.SessionSet {
		t.Errorf("plan = %+v / %+v, want a switch-on for 0002 and a session for 0003", p.Users[0], p.Users[1])
	}
}

// A dry run is the same pass with its writes withheld: the report is the plan.
func TestDryRunWithholdsEveryWrite(t *testing.T) {
	f := newFakes(3)
	env, _ := testEnv(t, f, "starface_to_teams:\n  enabled: true\n")
	f.setPresence("e-2", "Busy", "InACall")
	f.setDND(3, true)
	dry, withheld := DryRun(env)
	rep := run(t, dry, state.New())
	if want := []string{"0002 dnd-on", "0003 set-presence"}; !reflect.DeepEqual(actions(rep), want) {
		t.Errorf("dry-run report = %v, want %v", actions(rep), want)
	}
	if f.dnd(2) || f.count("put 2") != 0 || f.count("set e-3") != 0 {
		t.Errorf("a dry run wrote: %v", f.calls)
	}
	want := []string{"state: record 2 intents", "starface: put phone config of user 2 (DND on)", "graph: set presence for e-3 (DoNotDisturb/Presenting)"}
	if got := withheld.Writes(); !reflect.DeepEqual(got, want) {
		t.Errorf("withheld = %q, want %q", got, want)
	}
	// What the plan would change, per service; the journal's record changes neither.
	if got, want := withheld.Pending(), map[string]int{ServiceStarface: 1, ServiceTeams: 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("pending = %v, want %v", got, want)
	}
}

// A setPresence that fails without an answer may have landed: its pair is guarded all the same,
// so the other direction does not take it for the user's own presence (rule 6).
func TestFailedSetPresenceStillGuardsItsPair(t *testing.T) {
	f := newFakes(1)
	env, now := testEnv(t, f, "starface_to_teams:\n  enabled: true\n")
	st := state.New()
	f.setDND(2, true)
	f.fail["set e-2"] = errors.New("timeout awaiting response headers")
	rep := run(t, env, st)
	if rep.Summary.Failed != 1 {
		t.Fatalf("summary = %+v, want the user failed", rep.Summary)
	}
	u := st.User("0002")
	guard := env.Config.StarfaceToTeams.EchoGuard
	if !u.Echo("DoNotDisturb", "Presenting", now.Add(5*time.Minute), guard) {
		t.Error("the pair of a setPresence that may have landed is not guarded")
	}
	if u.Echo("DoNotDisturb", "Presenting", now.Add(guard+time.Second), guard) {
		t.Error("the guard outlives echo_guard")
	}
}

// Failures counts consecutive failed passes: a pass in which the user did not fail ends the run,
// whether or not it wrote anything.
func TestFailuresCountConsecutivePasses(t *testing.T) {
	f := newFakes(2)
	env, _ := testEnv(t, f, "")
	st := state.New()
	f.fail["presence"] = errors.New("graph: 503 Service Unavailable")
	if _, err := runPass(context.Background(), env, st, nil, Options{}); err == nil {
		t.Fatal("a pass without any presence did not fail")
	}
	// A phone read fails for one user, twice in a row.
	f.setPresence("e-2", "Busy", "InACall")
	for i := 1; i <= 2; i++ {
		f.fail["get 2"] = errors.New("starface: 500 Internal Server Error")
		run(t, env, st)
		if u := st.User("0002"); u.Failures() != i || !strings.Contains(u.LastError(), "read phone config of 0002") {
			t.Fatalf("after failed pass %d: failures %d %q", i, u.Failures(), u.LastError())
		}
	}
	// The call ends before the retry: nothing to write, and the failures end all the same.
	f.setPresence("e-2", "Available", "Available")
	run(t, env, st)
	if u := st.User("0002"); u.Failures() != 0 || u.LastError() != "" {
		t.Errorf("after a good pass: failures %d %q, want 0", u.Failures(), u.LastError())
	}
}

// A session remembers the Entra user it was set on and is cleared there, even when the login's
// match has moved on, and a failed clear is tried again next pass.
func TestSessionOfAMovedMatchIsClearedOnItsOwnEntraUser(t *testing.T) {
	f := newFakes(2)
	env, _ := testEnv(t, f, "starface_to_teams:\n  enabled: true\n")
	st := state.New()
	f.setDND(2, true) // by hand
	run(t, env, st)
	if _, ok := f.sessions["e-2"]; !ok {
		t.Fatal("no session set for a hand-set DND")
	}
	// 0002's address now belongs to another Entra user.
	f.entra[0].Mail, f.entra[0].UserPrincipalName = "old@contoso.example", "old@contoso.example"
	f.entra = append(f.entra, graph.User{ID: "e-9", Mail: "u2@contoso.example", UserPrincipalName: "u2@contoso.example", AccountEnabled: true})
	f.presence["e-9"] = graph.Presence{ID: "e-9", Availability: "Available", Activity: "Available"}
	f.fail["clear e-2"] = errors.New("graph: 503 Service Unavailable")
	rep, err := runPass(context.Background(), env, st, nil, Options{RefreshUsers: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Failed != 1 || f.count("clear e-2") != 1 {
		t.Fatalf("summary %+v, clears %d: want the clear tried once and failed", rep.Summary, f.count("clear e-2"))
	}
	rep = run(t, env, st)
	if f.count("clear e-2") != 2 {
		t.Fatalf("the failed clear on the old Entra user was not retried: %v", f.calls)
	}
	if _, ok := f.sessions["e-2"]; ok {
		t.Error("the old Entra user still shows teamsface's session")
	}
	if _, ok := f.sessions["e-9"]; !ok || !slices.Contains(actions(rep), "0002 set-presence") {
		t.Errorf("no session on the newly matched Entra user: %v", actions(rep))
	}
	if s, ok := st.User("0002").LiveSession(); !ok || s.EntraID != "e-9" {
		t.Errorf("session = %+v, want a live one on e-9", s)
	}
}

// The report lists a user's changes in the order they were made, whatever order the concurrent
// writes finished in.
func TestChangesSortStably(t *testing.T) {
	var cs []Change
	for _, step := range []string{"settled", "release", "set-presence"} {
		for i := 40; i > 0; i-- {
			cs = append(cs, Change{Login: fmt.Sprintf("%04d", i), Action: step})
		}
	}
	sortChanges(cs)
	for i := 0; i < len(cs); i += 3 {
		got := []string{cs[i].Action, cs[i+1].Action, cs[i+2].Action}
		if cs[i].Login != cs[i+2].Login || !reflect.DeepEqual(got, []string{"settled", "release", "set-presence"}) {
			t.Fatalf("changes of %s in order %v", cs[i].Login, got)
		}
	}
}

// A user who leaves the match in the same pass as another joins it is released in that pass
// (the counts of remembered and matched users being equal proves nothing).
func TestLeavingUserWhileAnotherJoins(t *testing.T) {
	f := newFakes(2)
	env, _ := testEnv(t, f, "")
	st := state.New()
	f.setPresence("e-2", "Busy", "InACall")
	run(t, env, st)
	if !f.dnd(2) {
		t.Fatal("setup: DND not switched on")
	}
	f.people[0] = starface.User{ID: 4, Login: "0004", Email: "u4@contoso.example"}
	f.entra = append(f.entra, graph.User{ID: "e-4", Mail: "u4@contoso.example", UserPrincipalName: "u4@contoso.example", AccountEnabled: true})
	f.presence["e-4"] = graph.Presence{ID: "e-4", Availability: "Available", Activity: "Available"}
	f.phones[4] = starface.PhoneConfig{}
	rep, err := runPass(context.Background(), env, st, nil, Options{RefreshUsers: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.dnd(2) || !slices.Contains(actions(rep), "0002 release") {
		t.Errorf("0002 left the match but was not released in that pass: %v", actions(rep))
	}
}

// A setPresence whose answer is lost may have landed: the next pass clears it once the DND is
// off (and refreshes it while the DND stays on), so it never lingers in Teams unguarded.
func TestLandedSetWithLostAnswerIsClearedOnceTheDNDIsOff(t *testing.T) {
	f := newFakes(1)
	env, now := testEnv(t, f, "starface_to_teams:\n  enabled: true\n")
	st := state.New()
	f.setDND(2, true)
	f.fail["set e-2"] = errors.New("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
	f.sessions["e-2"] = graph.SessionPresence{Availability: "DoNotDisturb", Activity: "Presenting"} // it landed
	run(t, env, st)
	f.setDND(2, false)
	*now = now.Add(10 * time.Second)
	rep := run(t, env, st)
	if f.count("clear e-2") != 1 || !slices.Contains(actions(rep), "0002 clear-presence") {
		t.Fatalf("the session that may have landed was not cleared: %v", f.calls)
	}
	if _, ok := f.sessions["e-2"]; ok {
		t.Error("the session is still up in Teams")
	}
}

// The same while the DND stays on: the next pass sets the session again (a refresh).
func TestLandedSetWithLostAnswerIsRefreshedWhileTheDNDIsOn(t *testing.T) {
	f := newFakes(1)
	env, now := testEnv(t, f, "starface_to_teams:\n  enabled: true\n")
	st := state.New()
	f.setDND(2, true)
	f.fail["set e-2"] = errors.New("timeout")
	run(t, env, st)
	*now = now.Add(10 * time.Second)
	run(t, env, st)
	if f.count("set e-2") != 2 {
		t.Fatalf("set calls: %v; want a second set", f.calls)
	}
	if s, ok := st.User("0002").LiveSession(); !ok || !s.Expires.After(*now) {
		t.Errorf("session after the refresh: %+v", s)
	}
}

// Many sessions set in one pass: the state's transitions are applied outside the goroutines
// that make the calls (run with -race).
func TestManySessionsInOnePass(t *testing.T) {
	f := newFakes(12)
	env, _ := testEnv(t, f, "starface_to_teams:\n  enabled: true\n")
	for i := 2; i < 14; i++ {
		f.setDND(i, true)
	}
	rep := run(t, env, state.New())
	if rep.Summary.SessionsSet != 12 {
		t.Errorf("sessions set: %d, want 12", rep.Summary.SessionsSet)
	}
}
