package state

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// User is what teamsface remembers about one STARFACE user: only what must
// survive from one run to the next (DESIGN.md, "State directory"). Its fields
// are unexported on purpose: every change goes through one of the named
// transitions below, each with a table test, so that the rules of ownership
// (DESIGN.md rules 3–4) and of sessions (rule 6) live in one place, and so
// that the state knows when it changed and must be saved.
type User struct {
	st *State // the state the user belongs to, told of every change

	starfaceID int

	applied  string // the decision ("on"/"off") last applied successfully, "" before the first
	written  *bool  // the DND value teamsface last wrote
	owned    bool   // teamsface switched DND on and may switch it back
	replaced bool   // the DND value it replaced

	session *Session

	// redirectApplied is the out-of-office decision last applied ("on": redirected, "off"),
	// "" before the first; redirects are the redirects teamsface switched on and owns, by id.
	redirectApplied string
	redirects       []OwnedRedirect

	failures     int       // consecutive failed passes
	lastError    string    // why the last of them failed
	failingSince time.Time // when the first of them ran
}

// Session is a STARFACE → Teams presence session teamsface set for a user,
// on the Entra user it was set on. ClearedAt is set once the session was
// cleared; the pair is still taken for teamsface's own echo for a while
// after that (echo_guard).
type Session struct {
	EntraID      string
	Availability string
	Activity     string
	Expires      time.Time
	ClearedAt    time.Time
}

// Live reports whether the session has not been cleared (it may have run
// out on its own if nobody refreshed it; see End).
func (s Session) Live() bool { return s.ClearedAt.IsZero() }

// End is when the session stopped counting in Teams: when it was cleared,
// or when it ran out if that came first.
func (s Session) End() time.Time {
	if !s.ClearedAt.IsZero() && s.ClearedAt.Before(s.Expires) {
		return s.ClearedAt
	}
	return s.Expires
}

// Guards reports whether a Teams presence of availability/activity is this
// session's own pair, seen while the session counts or within guard after
// it ended (DESIGN.md rule 6).
func (s Session) Guards(availability, activity string, now time.Time, guard time.Duration) bool {
	return availability == s.Availability && activity == s.Activity && now.Sub(s.End()) < guard
}

// OwnedRedirect is a STARFACE redirect teamsface switched on while its user was out of office:
// the object exactly as it was read before (whose enabled and destination go back when the user
// returns) and the destination teamsface wrote (so that its own write can be told from a change
// by hand). The state keeps them as JSON: it knows no STARFACE types.
type OwnedRedirect struct {
	ID     string
	Before json.RawMessage
	Wrote  json.RawMessage
}

// persisted is the part of a User that goes to disk, comparable, so that a
// transition that changes nothing leaves the state clean.
type persisted struct {
	starfaceID      int
	applied         string
	written         int8 // -1 unknown, 0 off, 1 on
	owned, replaced bool
	session         Session
	hasSession      bool
	// Whether the user is failing, and since when; the count and the error text (which may
	// hold a request id that changes every time) are saved with other changes only.
	failing      bool
	failingSince time.Time
	// The redirects teamsface owns, as one comparable string.
	redirectApplied, redirects string
}

func (u *User) persisted() persisted {
	p := persisted{starfaceID: u.starfaceID, applied: u.applied, written: -1, owned: u.owned,
		replaced: u.replaced, failing: u.failures > 0, failingSince: u.failingSince}
	if u.written != nil {
		p.written = 0
		if *u.written {
			p.written = 1
		}
	}
	if u.session != nil {
		p.session, p.hasSession = *u.session, true
	}
	p.redirectApplied = u.redirectApplied
	var b strings.Builder
	for _, r := range u.redirects {
		b.WriteString(r.ID + "\x00" + string(r.Before) + "\x00" + string(r.Wrote) + "\x00")
	}
	p.redirects = b.String()
	return p
}

// change runs a transition and marks the state dirty if it changed what is
// saved: a pass in which nothing changed writes nothing.
func (u *User) change(f func()) {
	before := u.persisted()
	f()
	if u.st != nil && u.persisted() != before {
		u.st.dirty = true
	}
}

// StarfaceID is the user's REST id.
func (u *User) StarfaceID() int { return u.starfaceID }

// Applied reports the decision last applied: "on", "off" or "" (none yet).
func (u *User) Applied() string { return u.applied }

// Owned reports whether teamsface switched the DND on and may switch it back.
func (u *User) Owned() bool { return u.owned }

// Replaced is the DND value an owned DND replaced.
func (u *User) Replaced() bool { return u.replaced }

// Session returns the user's Teams presence session, if teamsface holds or
// recently held one.
func (u *User) Session() (Session, bool) {
	if u.session == nil {
		return Session{}, false
	}
	return *u.session, true
}

// LiveSession returns the session if it has not been cleared.
func (u *User) LiveSession() (Session, bool) {
	s, ok := u.Session()
	return s, ok && s.Live()
}

// Failures is the number of consecutive passes in which this user failed. A pass that only
// counts one more failure writes nothing (a user who fails every 10 s must not rewrite the state
// every 10 s): the count and LastError are saved when the failures start or end, or with any
// other change; FailingSince says when they started.
func (u *User) Failures() int { return u.failures }

// FailingSince is when the first of the consecutive failed passes ran; zero when none failed.
func (u *User) FailingSince() time.Time { return u.failingSince }

// LastError is the error of the last failed pass, "" after a good one.
func (u *User) LastError() string { return u.lastError }

// Identify records which STARFACE user the login stands for.
func (u *User) Identify(starfaceID int) {
	u.change(func() { u.starfaceID = starfaceID })
}

// PhoneRead records the DND just read. An owned DND found off was switched
// off by hand: it is the user's from then on, and ownership is dropped
// (rule 4). It reports whether that happened.
func (u *User) PhoneRead(dnd bool) (ownershipDropped bool) {
	if !u.owned || dnd {
		return false
	}
	u.change(func() { u.owned = false })
	return true
}

// DecisionApplied records that the decision (on or off) holds without a
// write: DND already on (set by hand, no ownership taken: rule 3), or off
// with nothing teamsface owns to release.
func (u *User) DecisionApplied(on bool) {
	u.change(func() {
		if on {
			u.applied = "on"
			return
		}
		u.applied = "off"
		u.owned, u.replaced = false, false
	})
}

// SwitchedOn records a landed write that switched DND on, replacing before:
// teamsface owns it now (rule 3).
func (u *User) SwitchedOn(before bool) {
	u.change(func() {
		u.written = boolPtr(true)
		u.owned, u.replaced, u.applied = true, before, "on"
	})
}

// Released records a landed write that switched an owned DND back to value.
func (u *User) Released(value bool) {
	u.change(func() {
		u.written = boolPtr(value)
		u.owned, u.replaced, u.applied = false, false, "off"
	})
}

// SessionSet records a setPresence that landed (or may have, from an
// earlier run's unsettled intent): a new session, or a refreshed one, on
// entraID until expires.
func (u *User) SessionSet(entraID, availability, activity string, expires time.Time) {
	u.change(func() {
		u.session = &Session{EntraID: entraID, Availability: availability, Activity: activity, Expires: expires}
	})
}

// SessionMayHaveLanded records a setPresence that failed: without an answer it may have landed
// all the same. It is kept as a live session that is due now, on entraID, so that the next pass
// refreshes it while it is wanted and clears it once it is not; its pair stays guarded as
// teamsface's own meanwhile (rule 6). A live session on the same Entra user stays as it is,
// already due or not: a failed refresh leaves the session it refreshed.
func (u *User) SessionMayHaveLanded(entraID, availability, activity string, now time.Time) {
	if s, ok := u.LiveSession(); ok && s.EntraID == entraID {
		return
	}
	u.change(func() {
		u.session = &Session{EntraID: entraID, Availability: availability, Activity: activity, Expires: now}
	})
}

// SessionMayHaveCleared records a clearPresence of the session on entraID whose answer never
// came (a run killed while it was in flight): it may have landed or not. The session stays live
// in the state but is due now, so that the next pass sets it again if it is still wanted and
// clears it otherwise, rather than taking it as shown in Teams until it expires.
func (u *User) SessionMayHaveCleared(entraID string, now time.Time) {
	s, ok := u.LiveSession()
	if !ok || s.EntraID != entraID || !s.Expires.After(now) {
		return
	}
	u.change(func() {
		s.Expires = now
		u.session = &s
	})
}

// SessionCleared records a clearPresence that landed (or found no session).
// The session is kept, cleared, so its pair stays guarded for echo_guard.
func (u *User) SessionCleared(now time.Time) {
	if u.session == nil || !u.session.Live() {
		return
	}
	u.change(func() {
		s := *u.session
		s.ClearedAt = now
		u.session = &s
	})
}

// ForgetSession drops the session altogether (it was cleared on an Entra
// user that is no longer this login's, so nothing is left to guard).
func (u *User) ForgetSession() {
	u.change(func() { u.session = nil })
}

// PruneSession forgets a session that ended more than guard ago: its echo
// can no longer be seen.
func (u *User) PruneSession(now time.Time, guard time.Duration) {
	if s := u.session; s != nil && now.Sub(s.End()) >= guard {
		u.ForgetSession()
	}
}

// Echo reports whether availability/activity is teamsface's own session
// pair for this user (rule 6).
func (u *User) Echo(availability, activity string, now time.Time, guard time.Duration) bool {
	s, ok := u.Session()
	return ok && s.Guards(availability, activity, now, guard)
}

// PassFailed counts a pass, run at now, in which this user failed; err says why.
func (u *User) PassFailed(err error, now time.Time) {
	u.change(func() {
		if u.failures == 0 {
			u.failingSince = now
		}
		u.failures++
		u.lastError = err.Error()
	})
}

// PassSucceeded ends a run of failed passes.
func (u *User) PassSucceeded() {
	if u.failures == 0 && u.lastError == "" && u.failingSince.IsZero() {
		return
	}
	u.change(func() { u.failures, u.lastError, u.failingSince = 0, "", time.Time{} })
}

// Forgettable reports whether nothing about the user needs remembering once
// they left the match: no DND to release, no session to clear or guard, no
// redirect to put back.
func (u *User) Forgettable() bool { return !u.owned && u.session == nil && len(u.redirects) == 0 }

// RedirectApplied is the out-of-office decision last applied: "on" (calls
// redirected), or "" (not redirected; nothing is kept for the many users who
// never are).
func (u *User) RedirectApplied() string { return u.redirectApplied }

// OwnedRedirects are the redirects teamsface switched on and owns, by id.
func (u *User) OwnedRedirects() []OwnedRedirect { return slices.Clone(u.redirects) }

// OwnedRedirect returns the owned redirect with this id.
func (u *User) OwnedRedirect(id string) (OwnedRedirect, bool) {
	i := slices.IndexFunc(u.redirects, func(r OwnedRedirect) bool { return r.ID == id })
	if i < 0 {
		return OwnedRedirect{}, false
	}
	return u.redirects[i], true
}

// RedirectDecisionApplied records that the out-of-office decision (calls
// redirected or not) holds for every redirect of the user that teamsface may
// touch.
func (u *User) RedirectDecisionApplied(on bool) {
	u.change(func() {
		u.redirectApplied = ""
		if on {
			u.redirectApplied = "on"
		}
	})
}

// RedirectSwitchedOn records a landed write that switched a redirect on to
// wrote: teamsface owns it now and keeps before, the object as it was read.
func (u *User) RedirectSwitchedOn(id string, before, wrote json.RawMessage) {
	u.change(func() {
		u.redirects = slices.DeleteFunc(u.redirects, func(r OwnedRedirect) bool { return r.ID == id })
		u.redirects = append(u.redirects, OwnedRedirect{ID: id, Before: slices.Clone(before), Wrote: slices.Clone(wrote)})
		slices.SortFunc(u.redirects, func(a, b OwnedRedirect) int { return strings.Compare(a.ID, b.ID) })
	})
}

// RedirectRestored records a landed write that put an owned redirect back as
// it was: teamsface no longer owns it.
func (u *User) RedirectRestored(id string) { u.dropRedirect(id) }

// RedirectDisowned records an owned redirect changed by hand since teamsface
// switched it on (or gone from the PBX): it is the user's from then on and is
// never put back.
func (u *User) RedirectDisowned(id string) { u.dropRedirect(id) }

func (u *User) dropRedirect(id string) {
	if _, ok := u.OwnedRedirect(id); !ok {
		return
	}
	u.change(func() {
		u.redirects = slices.DeleteFunc(slices.Clone(u.redirects), func(r OwnedRedirect) bool { return r.ID == id })
	})
}

func boolPtr(b bool) *bool { return &b }
