package pass

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

const (
	oooVoicemail = "out_of_office:\n  redirect: voicemail\n"
	toNumber     = `{"redirectDestinationType":"PHONENUMBER","phoneNumber":"0301234"}`
)

// holidayFakes is one user (0002, REST id 2) with their own internal and external numbers, a
// busy redirect and a group number, and their own voicemail box 5.
func holidayFakes(t *testing.T) *fakes {
	f := newFakes(1)
	f.redirects[2] = []starface.Redirect{
		redirect(t, "r-int", "201", "ALWAYS", false, false, toNumber),
		redirect(t, "r-busy", "201", "BUSY", false, false, toNumber),
		redirect(t, "r-ext", "0301112", "ALWAYS", false, false, `{"redirectDestinationType":"MAILBOX","mailboxId":"9"}`),
		redirect(t, "r-group", "300", "ALWAYS", true, false, toNumber),
	}
	f.boxes = []starface.VoicemailBox{{ID: 5, UserIDs: []int{2}}, {ID: 9, UserIDs: []int{3}}}
	return f
}

func (f *fakes) away(id string, out bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.presence[id] = graph.Presence{ID: id, Availability: "Away", Activity: "Away", IsOutOfOffice: out}
}

func (f *fakes) redirectJSON(t *testing.T, user int, id string) string {
	t.Helper()
	i := slices.IndexFunc(f.redirects[user], func(r starface.Redirect) bool { return r.ID() == id })
	b, err := json.Marshal(f.redirects[user][i])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (f *fakes) redirectCalls() int {
	return f.count("redirects 2") + f.count("boxes") + f.count("put-redirect r-int") + f.count("put-redirect r-ext") +
		f.count("put-redirect r-busy") + f.count("put-redirect r-group")
}

// The go and return of one user: exactly the ALWAYS redirects of their own numbers go to their
// voicemail and come back as they were, every other field byte for byte; a pass while nothing
// changed costs no redirect request.
func TestOutOfOfficeGoAndReturn(t *testing.T) {
	f := holidayFakes(t)
	env, now := testEnv(t, f, oooVoicemail)
	st := state.New()
	orig := map[string]string{}
	for _, id := range []string{"r-int", "r-busy", "r-ext", "r-group"} {
		orig[id] = f.redirectJSON(t, 2, id)
	}
	pass := func() *Report {
		t.Helper()
		*now = now.Add(10 * time.Second)
		f.mu.Lock()
		f.calls = nil
		f.mu.Unlock()
		return run(t, env, st)
	}
	pass()
	if n := f.redirectCalls(); n != 0 {
		t.Fatalf("in the office: %d redirect requests, want none", n)
	}

	f.away("e-2", true) // automatic replies on
	rep := pass()
	if f.count("redirects 2") != 1 || f.count("put-redirect r-int") != 1 || f.count("put-redirect r-ext") != 1 ||
		f.count("put-redirect r-busy")+f.count("put-redirect r-group") != 0 {
		t.Fatalf("going on holiday: %v", f.calls)
	}
	if rep.Summary.RedirectsOn != 2 || !slices.Contains(actions(rep), "0002 redirect-on") {
		t.Errorf("report %+v %v", rep.Summary, actions(rep))
	}
	for _, id := range []string{"r-int", "r-ext"} {
		r := f.redirects[2][slices.IndexFunc(f.redirects[2], func(r starface.Redirect) bool { return r.ID() == id })]
		if !r.Shows(true, starface.MailboxDestination(5)) {
			t.Errorf("%s after going: %s", id, r)
		}
	}
	if got := len(st.User("0002").OwnedRedirects()); got != 2 {
		t.Errorf("owned redirects: %d, want 2", got)
	}

	pass() // still away
	if n := f.redirectCalls(); n != 0 {
		t.Errorf("still away: %d redirect requests (%v), want none", n, f.calls)
	}

	f.setPresence("e-2", "Available", "Available") // back
	rep = pass()
	if f.count("redirects 2") != 1 || f.count("put-redirect r-int") != 1 || f.count("put-redirect r-ext") != 1 || rep.Summary.RedirectsRestored != 2 {
		t.Fatalf("coming back: %v %+v", f.calls, rep.Summary)
	}
	for id, want := range orig {
		if got := f.redirectJSON(t, 2, id); got != want {
			t.Errorf("%s is not as it was:\n got %s\nwant %s", id, got, want)
		}
	}
	if len(st.User("0002").OwnedRedirects()) != 0 || st.User("0002").RedirectApplied() != "" {
		t.Errorf("still remembered after the return: %+v", st.User("0002").OwnedRedirects())
	}
	pass()
	if n := f.redirectCalls(); n != 0 {
		t.Errorf("back and steady: %d redirect requests", n)
	}
}

// A redirect on by hand is never written nor owned; one changed by hand while owned is left as
// it is and disowned; PresenceUnknown changes nothing.
func TestOutOfOfficeLeavesHandSetRedirects(t *testing.T) {
	f := holidayFakes(t)
	f.redirects[2][2] = redirect(t, "r-ext", "0301112", "ALWAYS", false, true, toNumber) // on by hand
	env, now := testEnv(t, f, oooVoicemail)
	st := state.New()
	run(t, env, st)
	f.away("e-2", true)
	*now = now.Add(10 * time.Second)
	rep := run(t, env, st)
	if f.count("put-redirect r-ext") != 0 || !slices.Contains(actions(rep), "0002 redirect-by-hand") {
		t.Fatalf("the hand-set redirect was written: %v %v", f.calls, actions(rep))
	}
	if _, owned := st.User("0002").OwnedRedirect("r-ext"); owned {
		t.Error("the hand-set redirect is owned")
	}
	// While away the user points the internal redirect elsewhere by hand.
	f.redirects[2][0] = f.redirects[2][0].WithTarget(true, starface.PhoneNumberDestination("0309999"))
	f.setPresence("e-2", "PresenceUnknown", "PresenceUnknown")
	*now = now.Add(10 * time.Second)
	f.calls = nil
	run(t, env, st)
	if f.count("redirects 2") != 0 {
		t.Errorf("PresenceUnknown read the redirects: %v", f.calls)
	}
	f.setPresence("e-2", "Available", "Available")
	*now = now.Add(10 * time.Second)
	rep = run(t, env, st)
	if f.count("put-redirect r-int")+f.count("put-redirect r-ext") != 0 || !slices.Contains(actions(rep), "0002 redirect-disowned") {
		t.Errorf("back: %v %v", f.calls, actions(rep))
	}
	r := f.redirects[2][0]
	if !r.Shows(true, starface.PhoneNumberDestination("0309999")) || len(st.User("0002").OwnedRedirects()) != 0 {
		t.Errorf("the redirect changed by hand: %s; owned %v", r, st.User("0002").OwnedRedirects())
	}
}

// A user without exactly one voicemail box of their own fails alone, and is never redirected to
// another user's box; the others are redirected.
func TestOutOfOfficeVoicemailBoxOfTheirOwn(t *testing.T) {
	f := newFakes(2)
	for _, id := range []int{2, 3} {
		f.redirects[id] = []starface.Redirect{redirect(t, "r-"+string(rune('0'+id)), "20"+string(rune('0'+id)), "ALWAYS", false, false, toNumber)}
	}
	f.boxes = []starface.VoicemailBox{{ID: 5, UserIDs: []int{2}}, {ID: 6, UserIDs: []int{7}}} // 0003 has none
	env, _ := testEnv(t, f, oooVoicemail)
	st := state.New()
	f.away("e-2", true)
	f.away("e-3", true)
	rep := run(t, env, st)
	if rep.Summary.Failed != 1 || rep.Summary.RedirectsOn != 1 {
		t.Fatalf("summary %+v", rep.Summary)
	}
	var failed Change
	for _, c := range rep.Changes {
		if c.Action == ActionFailed {
			failed = c
		}
	}
	if failed.Login != "0003" || !strings.Contains(failed.Error, "no voicemail box of 0003's own") {
		t.Errorf("failure %+v", failed)
	}
	if f.count("put-redirect r-3") != 0 || f.count("boxes") != 1 {
		t.Errorf("calls %v", f.calls)
	}
	// The boxes are cached with the match: the retry reads them no more (a request per box).
	run(t, env, st)
	if f.count("boxes") != 1 {
		t.Errorf("the voicemail boxes were read %d times, want once per match", f.count("boxes"))
	}
	if st.User("0003").Failures() != 2 {
		t.Errorf("0003 failures %d, want 2", st.User("0003").Failures())
	}
	// Nor does anyone's going and coming back.
	f.setPresence("e-3", "Available", "Available")
	run(t, env, st)
	f.away("e-2", false)
	run(t, env, st)
	f.away("e-2", true)
	run(t, env, st)
	if f.count("boxes") != 1 || f.count("put-redirect r-2") != 3 {
		t.Errorf("boxes read %d times (want 1), r-2 written %d times (want 3)", f.count("boxes"), f.count("put-redirect r-2"))
	}
}

// With out_of_office.redirect off (the default) nobody's redirects are read or written.
func TestOutOfOfficeOffMakesNoRedirectRequest(t *testing.T) {
	f := holidayFakes(t)
	env, now := testEnv(t, f, "")
	st := state.New()
	f.away("e-2", true)
	for range 3 {
		run(t, env, st)
		*now = now.Add(10 * time.Second)
	}
	if n := f.redirectCalls(); n != 0 {
		t.Errorf("%d redirect requests with redirects off", n)
	}
}

// A run killed while its redirect PUT was in flight: the next run finds whether it landed and
// records it as it would have, owning it with the object as it was before; nothing is lost.
func TestOutOfOfficeSettlesAKilledRedirectWrite(t *testing.T) {
	for _, landed := range []bool{true, false} {
		f := holidayFakes(t)
		env, now := testEnv(t, f, "out_of_office:\n  redirect: \"0049301234567\"\n")
		st := state.New()
		f.away("e-2", true)
		p, err := PlanPass(context.Background(), env, st, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var intents []state.Intent
		for _, rp := range p.Users[0].RedirectPlans {
			if rp.Step.Writes() {
				in, err := redirectIntent(p.Users[0], rp, *now)
				if err != nil {
					t.Fatal(err)
				}
				intents = append(intents, in)
				if landed {
					_ = f.PutRedirect(context.Background(), p.Users[0].ref(), rp.Write) // the write landed, its answer never came
				}
			}
		}
		if len(intents) != 2 {
			t.Fatalf("%d intents, want 2", len(intents))
		}
		*now = now.Add(10 * time.Second)
		f.calls = nil
		if _, err := runPass(context.Background(), env, st, intents, Options{}); err != nil {
			t.Fatal(err)
		}
		wantPuts := 0
		if !landed {
			wantPuts = 1 // written now, by this pass
		}
		if n := f.count("put-redirect r-int"); n != wantPuts {
			t.Errorf("landed %t: r-int written %d times by the next run, want %d", landed, n, wantPuts)
		}
		own, ok := st.User("0002").OwnedRedirect("r-int")
		if !ok || !strings.Contains(string(own.Before), `"enabled":false`) {
			t.Errorf("landed %t: r-int not owned with what it was: %s", landed, own.Before)
		}
		if r := f.redirects[2][0]; !r.Shows(true, starface.PhoneNumberDestination("0049301234567")) {
			t.Errorf("landed %t: r-int %s", landed, r)
		}
	}
}

// Release puts back what teamsface owns, and dry runs withhold the PUTs.
func TestOutOfOfficeRelease(t *testing.T) {
	f := holidayFakes(t)
	env, _ := testEnv(t, f, oooVoicemail)
	st := state.New()
	orig := f.redirectJSON(t, 2, "r-int")
	f.away("e-2", true)
	run(t, env, st)
	dry, w := DryRun(env)
	dst := state.New()
	if _, err := PlanRelease(context.Background(), dry, st).Execute(context.Background(), dry, dst); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(w.Writes(), func(s string) bool { return strings.Contains(s, "put redirect") }) || f.count("put-redirect r-int") != 1 {
		t.Errorf("dry run: withheld %v, calls %v", w.Writes(), f.calls)
	}
	rep, err := PlanRelease(context.Background(), env, st).Execute(context.Background(), env, st)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.RedirectsRestored != 2 || f.redirectJSON(t, 2, "r-int") != orig || st.Len() != 0 {
		t.Errorf("release: %+v, r-int %s, remembered %v", rep.Summary, f.redirectJSON(t, 2, "r-int"), st.Logins())
	}
}

// A user who leaves the match while away gets their redirects put back and is forgotten, like a
// DND teamsface owns.
func TestOutOfOfficeUserLeavingTheMatchIsPutBack(t *testing.T) {
	f := holidayFakes(t)
	env, _ := testEnv(t, f, oooVoicemail)
	st := state.New()
	orig := f.redirectJSON(t, 2, "r-int")
	f.away("e-2", true)
	run(t, env, st)
	f.people = nil // 0002 is gone from STARFACE's users in scope
	rep, err := runPass(context.Background(), env, st, nil, Options{RefreshUsers: true, AcceptDrop: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.RedirectsRestored != 2 || f.redirectJSON(t, 2, "r-int") != orig {
		t.Errorf("leaving: %+v, r-int %s", rep.Summary, f.redirectJSON(t, 2, "r-int"))
	}
	if st.User("0002") != nil {
		t.Error("a user with nothing left to put back is still remembered")
	}
}

// The redirects and the DND stand apart: a user whose redirects cannot be done (no voicemail box
// of their own, a redirect list that cannot be read) still gets DND for their Teams call, and one
// whose DND cannot be written still has their calls redirected. Either failure fails the user's
// pass (exit 3) and is retried next pass, which then writes only what is left.
func TestOutOfOfficeAndDNDFailApart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(f *fakes)
		// after the first pass
		dnd        bool
		redirected bool
	}{
		{"no voicemail box of their own", func(f *fakes) { f.boxes = nil }, true, false},
		{"redirects cannot be read", func(f *fakes) { f.fail["redirects 2"] = errors.New("503 Service Unavailable") }, true, false},
		{"a redirect write fails", func(f *fakes) { f.fail["put-redirect r-int"] = errors.New("503 Service Unavailable") }, true, false},
		{"DND cannot be written", func(f *fakes) { f.fail["put 2"] = errors.New("503 Service Unavailable") }, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := holidayFakes(t)
			env, now := testEnv(t, f, oooVoicemail)
			st := state.New()
			f.mu.Lock()
			f.presence["e-2"] = graph.Presence{ID: "e-2", Availability: "Busy", Activity: "InACall", IsOutOfOffice: true}
			boxes := f.boxes
			tc.break_(f)
			f.mu.Unlock()
			redirected := func() bool {
				return strings.Contains(f.redirectJSON(t, 2, "r-int"), `"mailboxId":"5"`)
			}

			rep := run(t, env, st)
			if rep.Summary.Failed != 1 || f.dnd(2) != tc.dnd || redirected() != tc.redirected {
				t.Fatalf("first pass: summary %+v, DND %t (want %t), redirected %t (want %t), changes %v",
					rep.Summary, f.dnd(2), tc.dnd, redirected(), tc.redirected, actions(rep))
			}
			if tc.dnd != st.User("0002").Owned() {
				t.Errorf("DND on %t but owned %t", tc.dnd, st.User("0002").Owned())
			}

			// Mended: the next pass does what is left and nothing twice (a box created is found
			// with a new match).
			f.mu.Lock()
			f.boxes, f.calls = boxes, nil
			f.mu.Unlock()
			*now = now.Add(10 * time.Second)
			rep, err := runPass(context.Background(), env, st, nil, Options{RefreshUsers: true})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Summary.Failed != 0 || !f.dnd(2) || !redirected() || st.User("0002").Failures() != 0 {
				t.Fatalf("after the mend: summary %+v, DND %t, redirected %t, changes %v", rep.Summary, f.dnd(2), redirected(), actions(rep))
			}
			if n := f.count("put 2"); tc.dnd && n != 0 {
				t.Errorf("the DND switched on before was written again (%d)", n)
			}
			if n := f.count("put-redirect r-int"); tc.redirected && n != 0 {
				t.Errorf("the redirect switched on before was written again (%d)", n)
			}
		})
	}
}

// A rule that asks whether the user is out of office sees what the redirects see: Microsoft's
// out-of-office setting, not only the activity OutOfOffice (mapping check and sync decide alike).
func TestOutOfOfficeRuleDecidesTheDND(t *testing.T) {
	f := newFakes(2)
	env, _ := testEnv(t, f, `teams_to_starface:
  rules:
    - when: {out_of_office: true}
      dnd: on
    - when: {}
      dnd: off
`)
	f.mu.Lock()
	f.presence["e-2"] = graph.Presence{ID: "e-2", Availability: "Available", Activity: "Available", IsOutOfOffice: true}
	f.mu.Unlock()
	rep := run(t, env, state.New())
	if !f.dnd(2) || f.dnd(3) || rep.Summary.SwitchedOn != 1 {
		t.Errorf("DND of 0002 (automatic replies on) %t, of 0003 %t; want on, off (%v)", f.dnd(2), f.dnd(3), actions(rep))
	}
}
