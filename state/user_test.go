package state

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

// Each transition is tested from the states it meets in a pass: a fresh
// user, one whose DND teamsface owns, one whose DND is on by hand, and one
// with a live or cleared Teams session.

func owned() *User {
	return &User{starfaceID: 3, applied: "on", written: ptr(true), owned: true}
}

func withSession(cleared bool) *User {
	s := &Session{EntraID: "e-3", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(15 * time.Minute)}
	if cleared {
		s.ClearedAt = t0.Add(time.Minute)
	}
	return &User{starfaceID: 3, session: s}
}

func TestPhoneRead(t *testing.T) {
	tests := []struct {
		name        string
		u           *User
		dnd         bool
		wantDropped bool
		want        *User
	}{
		{"fresh, off", &User{starfaceID: 3}, false, false, &User{starfaceID: 3}},
		{"fresh, on by hand", &User{starfaceID: 3}, true, false, &User{starfaceID: 3}},
		{"owned, still on", owned(), true, false, owned()},
		{"owned, switched off by hand: dropped", owned(), false, true,
			&User{starfaceID: 3, applied: "on", written: ptr(true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.u.PhoneRead(tt.dnd); got != tt.wantDropped {
				t.Errorf("dropped = %v, want %v", got, tt.wantDropped)
			}
			if !reflect.DeepEqual(tt.u, tt.want) {
				t.Errorf("user = %+v, want %+v", tt.u, tt.want)
			}
		})
	}
}

func TestDNDTransitions(t *testing.T) {
	tests := []struct {
		name  string
		u     *User
		apply func(*User)
		want  *User
	}{
		{"switched on takes ownership and remembers what it replaced", &User{starfaceID: 3},
			func(u *User) { u.SwitchedOn(false) },
			&User{starfaceID: 3, applied: "on", written: ptr(true), owned: true}},
		{"released gives back the replaced value", owned(),
			func(u *User) { u.Released(false) },
			&User{starfaceID: 3, applied: "off", written: ptr(false)}},
		{"decision on applied without a write takes nothing", &User{starfaceID: 3},
			func(u *User) { u.DecisionApplied(true) },
			&User{starfaceID: 3, applied: "on"}},
		{"decision off applied with nothing owned", &User{starfaceID: 3, applied: "on"},
			func(u *User) { u.DecisionApplied(false) },
			&User{starfaceID: 3, applied: "off"}},
		{"decision off applied drops what was owned (switched off by hand)", owned(),
			func(u *User) { u.DecisionApplied(false) },
			&User{starfaceID: 3, applied: "off", written: ptr(true)}},
		{"identify", &User{}, func(u *User) { u.Identify(3) }, &User{starfaceID: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.apply(tt.u)
			if !reflect.DeepEqual(tt.u, tt.want) {
				t.Errorf("user = %+v, want %+v", tt.u, tt.want)
			}
		})
	}
}

func TestSessionTransitions(t *testing.T) {
	t1 := t0.Add(5 * time.Minute)
	exp := t1.Add(15 * time.Minute)
	live := func(entra string) *Session {
		return &Session{EntraID: entra, Availability: "DoNotDisturb", Activity: "Presenting", Expires: exp}
	}
	tests := []struct {
		name  string
		u     *User
		apply func(*User)
		want  *Session
	}{
		{"set on a user without one", &User{},
			func(u *User) { u.SessionSet("e-3", "DoNotDisturb", "Presenting", exp) }, live("e-3")},
		{"refresh replaces the old", withSession(false),
			func(u *User) { u.SessionSet("e-3", "DoNotDisturb", "Presenting", exp) }, live("e-3")},
		{"cleared keeps the pair, cleared", withSession(false), func(u *User) { u.SessionCleared(t1) },
			&Session{EntraID: "e-3", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(15 * time.Minute), ClearedAt: t1}},
		{"clearing a cleared one keeps its first clearing", withSession(true), func(u *User) { u.SessionCleared(t1) },
			&Session{EntraID: "e-3", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(15 * time.Minute), ClearedAt: t0.Add(time.Minute)}},
		{"a failed set may have landed: live, due now", &User{},
			func(u *User) { u.SessionMayHaveLanded("e-3", "DoNotDisturb", "Presenting", t1) },
			&Session{EntraID: "e-3", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t1}},
		{"a failed refresh leaves the live session live", withSession(false),
			func(u *User) { u.SessionMayHaveLanded("e-3", "DoNotDisturb", "Presenting", t1) },
			&Session{EntraID: "e-3", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(15 * time.Minute)}},
		{"a clear whose answer never came: live, due now", withSession(false),
			func(u *User) { u.SessionMayHaveCleared("e-3", t1) },
			&Session{EntraID: "e-3", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t1}},
		{"a clear on another Entra user leaves this one's session", withSession(false),
			func(u *User) { u.SessionMayHaveCleared("e-9", t1) },
			&Session{EntraID: "e-3", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(15 * time.Minute)}},
		{"a clear of a cleared session changes nothing", withSession(true),
			func(u *User) { u.SessionMayHaveCleared("e-3", t1) },
			&Session{EntraID: "e-3", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(15 * time.Minute), ClearedAt: t0.Add(time.Minute)}},
		{"forget", withSession(false), func(u *User) { u.ForgetSession() }, nil},
		{"prune within the guard keeps it", withSession(true), func(u *User) { u.PruneSession(t0.Add(5*time.Minute), 10*time.Minute) },
			&Session{EntraID: "e-3", Availability: "DoNotDisturb", Activity: "Presenting", Expires: t0.Add(15 * time.Minute), ClearedAt: t0.Add(time.Minute)}},
		{"prune after the guard forgets it", withSession(true), func(u *User) { u.PruneSession(t0.Add(11*time.Minute), 10*time.Minute) }, nil},
		{"prune a live one that ran out long ago", withSession(false), func(u *User) { u.PruneSession(t0.Add(26*time.Minute), 10*time.Minute) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.apply(tt.u)
			if !reflect.DeepEqual(tt.u.session, tt.want) {
				t.Errorf("session = %+v, want %+v", tt.u.session, tt.want)
			}
		})
	}
}

func TestEcho(t *testing.T) {
	tests := []struct {
		name string
		u    *User
		a, b string
		at   time.Time
		want bool
	}{
		{"no session", &User{}, "DoNotDisturb", "Presenting", t0, false},
		{"live, own pair", withSession(false), "DoNotDisturb", "Presenting", t0.Add(time.Minute), true},
		{"live, other pair", withSession(false), "Busy", "InACall", t0.Add(time.Minute), false},
		{"cleared, within guard", withSession(true), "DoNotDisturb", "Presenting", t0.Add(10 * time.Minute), true},
		{"cleared, guard over", withSession(true), "DoNotDisturb", "Presenting", t0.Add(11 * time.Minute), false},
		{"ran out, within guard", withSession(false), "DoNotDisturb", "Presenting", t0.Add(24 * time.Minute), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.u.Echo(tt.a, tt.b, tt.at, 10*time.Minute); got != tt.want {
				t.Errorf("Echo = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFailuresCountConsecutivePasses(t *testing.T) {
	u := &User{}
	steps := []struct {
		failed       error
		wantFailures int
		wantLast     string
	}{
		{errors.New("read Teams presence: 503"), 1, "read Teams presence: 503"},
		{errors.New("set DND for 0003: 500"), 2, "set DND for 0003: 500"},
		{nil, 0, ""},
		{errors.New("read phone config: timeout"), 1, "read phone config: timeout"},
	}
	for i, s := range steps {
		if s.failed != nil {
			u.PassFailed(s.failed, t0)
		} else {
			u.PassSucceeded()
		}
		if u.Failures() != s.wantFailures || u.LastError() != s.wantLast {
			t.Errorf("step %d: failures %d %q, want %d %q", i, u.Failures(), u.LastError(), s.wantFailures, s.wantLast)
		}
	}
}

func TestForgettable(t *testing.T) {
	tests := []struct {
		name string
		u    *User
		want bool
	}{
		{"nothing owned, no session", &User{starfaceID: 3}, true},
		{"owned DND to release", owned(), false},
		{"session to clear", withSession(false), false},
		{"cleared session still guarded", withSession(true), false},
	}
	for _, tt := range tests {
		if got := tt.u.Forgettable(); got != tt.want {
			t.Errorf("%s: Forgettable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Every transition that changes what is saved makes the state dirty; one
// that changes nothing leaves it clean.
func TestTransitionsMarkTheStateDirty(t *testing.T) {
	t1 := t0.Add(time.Minute)
	tests := []struct {
		name  string
		apply func(*User)
		dirty bool
	}{
		{"switched on again", func(u *User) { u.SwitchedOn(false) }, false},
		{"released", func(u *User) { u.Released(false) }, true},
		{"owned read on", func(u *User) { u.PhoneRead(true) }, false},
		{"owned read off", func(u *User) { u.PhoneRead(false) }, true},
		{"decision on again", func(u *User) { u.DecisionApplied(true) }, false},
		{"decision off", func(u *User) { u.DecisionApplied(false) }, true},
		{"same identity", func(u *User) { u.Identify(3) }, false},
		{"good pass, no failures", func(u *User) { u.PassSucceeded() }, false},
		{"failed pass", func(u *User) { u.PassFailed(errors.New("x"), t1) }, true},
		{"failed again: counted, not saved for that alone", func(u *User) {
			u.PassFailed(errors.New("x"), t1)
			u.st.dirty = false
			u.PassFailed(errors.New("y, request-id 1234"), t1.Add(10*time.Second))
		}, false},
		{"session set", func(u *User) { u.SessionSet("e-3", "DoNotDisturb", "Presenting", t1) }, true},
		{"no session to clear", func(u *User) { u.SessionCleared(t1) }, false},
		{"prune nothing", func(u *User) { u.PruneSession(t1, time.Minute) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := New()
			u := owned()
			u.st = st
			st.users["0003"] = u
			tt.apply(u)
			if st.Dirty() != tt.dirty {
				t.Errorf("dirty = %v, want %v", st.Dirty(), tt.dirty)
			}
		})
	}
}

func TestStateUsers(t *testing.T) {
	st := New()
	a := st.Take("0003")
	if st.Take("0003") != a || st.User("0003") != a || st.User("0004") != nil {
		t.Fatal("Take does not return the remembered user")
	}
	st.Take("0002")
	if got := st.Logins(); !reflect.DeepEqual(got, []string{"0002", "0003"}) {
		t.Errorf("Logins = %v", got)
	}
	st.Forget("0003")
	if st.User("0003") != nil || st.Len() != 1 {
		t.Error("Forget kept the user")
	}
}

func TestRedirectTransitions(t *testing.T) {
	before := json.RawMessage(`{"id":"r-1","enabled":false,"redirectDestination":{"redirectDestinationType":"PHONENUMBER","phoneNumber":"0301234"}}`)
	wrote := json.RawMessage(`{"redirectDestinationType":"MAILBOX","mailboxId":"5"}`)
	owning := func() *User {
		u := &User{st: New()}
		u.RedirectSwitchedOn("r-1", before, wrote)
		u.RedirectDecisionApplied(true)
		u.st.dirty = false
		return u
	}
	for _, tc := range []struct {
		name    string
		u       *User
		apply   func(*User)
		owned   []string
		applied string
		dirty   bool
		forget  bool
	}{
		{"going on holiday: owned with what was there", &User{st: New()}, func(u *User) {
			u.RedirectSwitchedOn("r-2", before, wrote)
			u.RedirectSwitchedOn("r-1", before, wrote)
			u.RedirectDecisionApplied(true)
		}, []string{"r-1", "r-2"}, "on", true, false},
		{"switched on twice: owned once", owning(), func(u *User) { u.RedirectSwitchedOn("r-1", before, wrote) }, []string{"r-1"}, "on", false, false},
		{"back: restored, no longer owned", owning(), func(u *User) {
			u.RedirectRestored("r-1")
			u.RedirectDecisionApplied(false)
		}, nil, "", true, true},
		{"changed by hand: disowned", owning(), func(u *User) { u.RedirectDisowned("r-1") }, nil, "on", true, true},
		{"disowning what is not owned changes nothing", owning(), func(u *User) { u.RedirectDisowned("r-9") }, []string{"r-1"}, "on", false, false},
		{"the same decision again changes nothing", owning(), func(u *User) { u.RedirectDecisionApplied(true) }, []string{"r-1"}, "on", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.apply(tc.u)
			var ids []string
			for _, r := range tc.u.OwnedRedirects() {
				ids = append(ids, r.ID)
				if string(r.Before) != string(before) || string(r.Wrote) != string(wrote) {
					t.Errorf("%s kept %s / %s", r.ID, r.Before, r.Wrote)
				}
			}
			if !slices.Equal(ids, tc.owned) || tc.u.RedirectApplied() != tc.applied {
				t.Errorf("owned %v applied %q; want %v %q", ids, tc.u.RedirectApplied(), tc.owned, tc.applied)
			}
			if tc.u.st.dirty != tc.dirty {
				t.Errorf("dirty = %t, want %t", tc.u.st.dirty, tc.dirty)
			}
			if tc.u.Forgettable() != tc.forget {
				t.Errorf("forgettable = %t, want %t", tc.u.Forgettable(), tc.forget)
			}
		})
	}
}
