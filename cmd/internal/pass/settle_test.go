package pass

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/state"
)

// Settle resolves what a killed run left in the journal, each kind of intent as its own rule.
func TestSettle(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 8, 59, 0, 0, time.UTC)
	type want struct {
		applied       string
		owned         bool
		replaced      bool
		session       *state.Session // nil: none
		settled, left int
	}
	ownedOn := func(st *state.State) {
		u := st.Take("0002")
		u.Identify(2)
		u.SwitchedOn(false)
	}
	live := func(st *state.State) {
		st.Take("0002").SessionSet("e-2", "DoNotDisturb", "Presenting", t0.Add(15*time.Minute))
	}
	dndIntent := func(want, before bool) state.Intent {
		return state.Intent{Login: "0002", StarfaceID: 2, Want: want, Before: before, At: t0}
	}
	for _, tc := range []struct {
		name   string
		before func(*state.State)
		phone  bool // the DND the phone shows now
		fail   bool // the read fails
		in     state.Intent
		want   want
	}{
		{"a switch-on that landed is owned", nil, true, false, dndIntent(true, false),
			want{applied: "on", owned: true, settled: 1}},
		{"a switch-on that did not land changes nothing", nil, false, false, dndIntent(true, false),
			want{}},
		{"a release that landed gives the DND back", ownedOn, false, false, dndIntent(false, true),
			want{applied: "off", settled: 1}},
		{"a release that did not land stays owned", ownedOn, true, false, dndIntent(false, true),
			want{applied: "on", owned: true}},
		{"a phone that cannot be read keeps the intent", nil, true, true, dndIntent(true, false),
			want{left: 1}},
		{"a setPresence that may have landed is live and due now", nil, true, false,
			state.Intent{Kind: state.KindSessionSet, Login: "0002", EntraID: "e-2", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(15 * time.Minute), At: t0},
			want{session: &state.Session{EntraID: "e-2", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(time.Minute)}}},
		{"a refresh that may have landed leaves the live session", live, true, false,
			state.Intent{Kind: state.KindSessionSet, Login: "0002", EntraID: "e-2", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(16 * time.Minute), At: t0},
			want{session: &state.Session{EntraID: "e-2", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(15 * time.Minute)}}},
		{"a clearPresence that may have landed leaves the session due now", live, false, false,
			state.Intent{Kind: state.KindSessionClear, Login: "0002", EntraID: "e-2", At: t0},
			want{session: &state.Session{EntraID: "e-2", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(time.Minute)}}},
		{"a clearPresence of a user no longer remembered: nothing", nil, false, false,
			state.Intent{Kind: state.KindSessionClear, Login: "0002", EntraID: "e-2", At: t0},
			want{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes(1)
			env, _ := testEnv(t, f, "starface_to_teams:\n  enabled: true\n")
			env.Now = func() time.Time { return t0.Add(time.Minute) }
			st := state.New()
			if tc.before != nil {
				tc.before(st)
			}
			f.setDND(2, tc.phone)
			if tc.fail {
				f.fail["get 2"] = errors.New("connection refused")
			}
			settled, left := Settle(context.Background(), env, st, []state.Intent{tc.in})
			if len(settled) != tc.want.settled || len(left) != tc.want.left {
				t.Errorf("settled %d, left %d; want %d and %d", len(settled), len(left), tc.want.settled, tc.want.left)
			}
			if f.count("put 2")+f.count("set e-2")+f.count("clear e-2") != 0 {
				t.Errorf("settling wrote to a service: %v", f.calls)
			}
			u := st.User("0002")
			if u == nil {
				u = &state.User{}
			}
			if u.Applied() != tc.want.applied || u.Owned() != tc.want.owned || u.Replaced() != tc.want.replaced {
				t.Errorf("user: applied %q owned %t replaced %t; want %+v", u.Applied(), u.Owned(), u.Replaced(), tc.want)
			}
			s, ok := u.Session()
			if (tc.want.session != nil) != ok || (ok && s != *tc.want.session) {
				t.Errorf("session %+v (%t), want %+v", s, ok, tc.want.session)
			}
		})
	}
}

// The kill the issue describes: a run died while its setPresence was in flight, and nobody
// knows whether it reached Graph. The next pass settles it as due now and sets the session while
// the DND is on, whether or not the first one landed.
func TestUnansweredSetPresenceIsSetByTheNextPass(t *testing.T) {
	for _, landed := range []bool{true, false} {
		f := newFakes(1)
		env, now := testEnv(t, f, "starface_to_teams:\n  enabled: true\n")
		st := state.New()
		run(t, env, st)
		f.setDND(2, true) // by hand
		if landed {
			f.sessions["e-2"] = graph.SessionPresence{Availability: "DoNotDisturb", Activity: "Presenting"}
		}
		in := state.Intent{Kind: state.KindSessionSet, Login: "0002", EntraID: "e-2", Availability: "DoNotDisturb",
			Activity: "Presenting", Expires: now.Add(15 * time.Minute), At: *now}
		*now = now.Add(10 * time.Second)
		rep, err := runPass(context.Background(), env, st, []state.Intent{in}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if f.count("set e-2") != 1 || !slices.Contains(actions(rep), "0002 set-presence") {
			t.Errorf("landed %t: the next pass did not set the session: %v", landed, f.calls)
		}
		if s, ok := st.User("0002").LiveSession(); !ok || s.Expires.Sub(*now) != 15*time.Minute {
			t.Errorf("landed %t: session after the pass %+v", landed, s)
		}
	}
}

// The same for a clearPresence that may have landed while the user switched DND on again by
// hand: the next pass shows it again at once rather than trusting a session that may be gone.
func TestUnansweredClearPresenceIsSetAgainWhenWanted(t *testing.T) {
	f := newFakes(1)
	env, now := testEnv(t, f, "starface_to_teams:\n  enabled: true\n")
	st := state.New()
	f.setDND(2, true)
	run(t, env, st) // the session is set
	delete(f.sessions, "e-2")
	in := state.Intent{Kind: state.KindSessionClear, Login: "0002", EntraID: "e-2", At: *now}
	*now = now.Add(10 * time.Second)
	if _, err := runPass(context.Background(), env, st, []state.Intent{in}, Options{}); err != nil {
		t.Fatal(err)
	}
	if f.count("set e-2") != 2 {
		t.Errorf("the session that may have been cleared was not set again: %v", f.calls)
	}
	if _, ok := f.sessions["e-2"]; !ok {
		t.Error("no session in Teams while the DND is on by hand")
	}
}
