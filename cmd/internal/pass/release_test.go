package pass

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/state"
)

// PlanRelease puts back what the state remembers, and nothing else: an owned DND still on goes
// back to the value it replaced, a session is cleared, a DND set or cleared by hand is left.
func TestPlanRelease(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(f *fakes, st *state.State)
		dnd     mapping.DNDStep
		want    bool // the value written back
		session mapping.SessionStep
		reads   int
	}{
		{"an owned DND goes back off", func(f *fakes, st *state.State) {
			u := st.Take("0002")
			u.Identify(2)
			u.SwitchedOn(false)
			f.setDND(2, true)
		}, mapping.DNDRelease, false, mapping.SessionNothing, 1},
		{"an owned DND that replaced on goes back on", func(f *fakes, st *state.State) {
			u := st.Take("0002")
			u.Identify(2)
			u.SwitchedOn(true)
			f.setDND(2, true)
		}, mapping.DNDRelease, true, mapping.SessionNothing, 1},
		{"an owned DND switched off by hand since: nothing", func(f *fakes, st *state.State) {
			u := st.Take("0002")
			u.Identify(2)
			u.SwitchedOn(false)
		}, mapping.DNDNothing, false, mapping.SessionNothing, 1},
		{"a hand-set DND is never read or touched", func(f *fakes, st *state.State) {
			u := st.Take("0002")
			u.Identify(2)
			u.DecisionApplied(true)
			f.setDND(2, true)
		}, mapping.DNDNothing, false, mapping.SessionNothing, 0},
		{"a live session is cleared", func(f *fakes, st *state.State) {
			u := st.Take("0002")
			u.Identify(2)
			u.SessionSet("e-2", "DoNotDisturb", "Presenting", time.Date(2026, 11, 23, 9, 10, 0, 0, time.UTC))
			f.setDND(2, true)
		}, mapping.DNDNothing, false, mapping.SessionClear, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes(1)
			env, _ := testEnv(t, f, "")
			st := state.New()
			tc.setup(f, st)
			p := PlanRelease(context.Background(), env, st)
			if len(p.Users) != 1 {
				t.Fatalf("plan has %d users, want 1", len(p.Users))
			}
			up := p.Users[0]
			if up.DND != tc.dnd || (up.Writes() && up.Want != tc.want) || up.Session != tc.session {
				t.Errorf("plan: DND %d want %t session %d; want %d %t %d", up.DND, up.Want, up.Session, tc.dnd, tc.want, tc.session)
			}
			if up.Session == mapping.SessionClear && up.SessionReason != "teamsface release" {
				t.Errorf("session reason %q", up.SessionReason)
			}
			if n := f.count("get 2"); n != tc.reads {
				t.Errorf("phone reads %d, want %d", n, tc.reads)
			}
			if f.count("put 2") != 0 || f.count("presence") != 0 {
				t.Errorf("planning sent more than reads: %v", f.calls)
			}
		})
	}
}

// Executed, a release forgets whom it released; a user whose write fails stays remembered.
func TestReleaseForgetsOnlyWhatWasReleased(t *testing.T) {
	f := newFakes(2)
	env, _ := testEnv(t, f, "")
	st := state.New()
	for _, id := range []int{2, 3} {
		f.setPresence(fmt.Sprintf("e-%d", id), "Busy", "InACall")
	}
	run(t, env, st)
	f.fail["put 3"] = errors.New("503 service unavailable")
	rep, err := PlanRelease(context.Background(), env, st).Execute(context.Background(), env, st)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Released != 1 || rep.Summary.Failed != 1 {
		t.Errorf("summary %+v, want 1 released and 1 failed", rep.Summary)
	}
	if !slices.Equal(st.Logins(), []string{"0003"}) {
		t.Errorf("remembered after the release: %v, want only 0003", st.Logins())
	}
	if f.phones[2].DoNotDisturb || !f.phones[3].DoNotDisturb {
		t.Errorf("DND after the release: 0002 %t, 0003 %t", f.phones[2].DoNotDisturb, f.phones[3].DoNotDisturb)
	}
	if _, err := PlanRelease(context.Background(), env, st).Execute(context.Background(), env, st); err != nil {
		t.Fatal(err)
	}
	if st.Len() != 0 || f.phones[3].DoNotDisturb {
		t.Errorf("the second release left %v, 0003's DND %t", st.Logins(), f.phones[3].DoNotDisturb)
	}
}

// A plan is executed once: a second Execute would write twice.
func TestPlanIsExecutedOnce(t *testing.T) {
	f := newFakes(1)
	env, _ := testEnv(t, f, "")
	st := state.New()
	p, err := PlanPass(context.Background(), env, st, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Execute(context.Background(), env, st); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Execute(context.Background(), env, st); err == nil {
		t.Error("a plan was executed twice")
	}
}
