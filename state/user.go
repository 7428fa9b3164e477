package state

import (
	"time"
)

// User is what teamsface remembers about one STARFACE user. Its fields are
// unexported on purpose: every change goes through one of the named
// transitions below, each with a table test, so that the rules of ownership
// (DESIGN.md rules 3–4) and of sessions (rule 6) live in one place.
type User struct {
	starfaceID int
	entraID    string
	upn        string

	applied  string // the decision ("on"/"off") last applied successfully, "" before the first
	written  *bool  // the DND value teamsface last wrote
	owned    bool   // teamsface switched DND on and may switch it back
	replaced bool   // the DND value it replaced

	dnd       *bool // DND last read from STARFACE
	dndReadAt time.Time

	session *Session

	failures  int // consecutive failed passes
	lastError string
}

// Session is a STARFACE → Teams presence session teamsface set for a user,
// on the Entra user it was set on. ClearedAt is set once the session was
// cleared; the pair is still taken for teamsface's own echo for a while
// after that (echo_guard).
type Session struct {
	EntraID      string
	Availability string
	Activity     string
	SetAt        time.Time
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

// StarfaceID is the user's REST id.
func (u *User) StarfaceID() int { return u.starfaceID }

// EntraID is the Entra object id the login matched when last seen.
func (u *User) EntraID() string { return u.entraID }

// UPN is the Entra user principal name the login matched when last seen.
func (u *User) UPN() string { return u.upn }

// Applied reports the decision last applied: "on", "off" or "" (none yet).
func (u *User) Applied() string { return u.applied }

// Owned reports whether teamsface switched the DND on and may switch it back.
func (u *User) Owned() bool { return u.owned }

// Replaced is the DND value an owned DND replaced.
func (u *User) Replaced() bool { return u.replaced }

// DND is the DND value last read or written, and whether one is known.
func (u *User) DND() (on, known bool) {
	if u.dnd == nil {
		return false, false
	}
	return *u.dnd, true
}

// DNDReadAt is when the DND was last read from STARFACE (zero: never).
func (u *User) DNDReadAt() time.Time { return u.dndReadAt }

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

// Failures is the number of consecutive passes in which this user failed.
func (u *User) Failures() int { return u.failures }

// LastError is the error of the last failed pass, "" after a good one.
func (u *User) LastError() string { return u.lastError }

// Identify records which STARFACE user and Entra user the login stands for
// in this pass's match.
func (u *User) Identify(starfaceID int, entraID, upn string) {
	u.starfaceID, u.entraID, u.upn = starfaceID, entraID, upn
}

// PhoneRead records the DND just read. An owned DND found off was switched
// off by hand: it is the user's from then on, and ownership is dropped
// (rule 4). It reports whether that happened.
func (u *User) PhoneRead(dnd bool, at time.Time) (ownershipDropped bool) {
	u.dnd, u.dndReadAt = &dnd, at
	if u.owned && !dnd {
		u.owned = false
		return true
	}
	return false
}

// DecisionApplied records that the decision (on or off) holds without a
// write: DND already on (set by hand, no ownership taken: rule 3), or off
// with nothing teamsface owns to release.
func (u *User) DecisionApplied(on bool) {
	if on {
		u.applied = "on"
		return
	}
	u.applied = "off"
	u.owned, u.replaced = false, false
}

// SwitchedOn records a landed write that switched DND on, replacing before:
// teamsface owns it now (rule 3).
func (u *User) SwitchedOn(before bool) {
	u.wrote(true)
	u.owned, u.replaced, u.applied = true, before, "on"
}

// Released records a landed write that switched an owned DND back to value.
func (u *User) Released(value bool) {
	u.wrote(value)
	u.owned, u.replaced, u.applied = false, false, "off"
}

func (u *User) wrote(value bool) {
	u.written = &value
	u.dnd = &value
}

// SessionSet records a setPresence that landed: a new session, or a
// refreshed one, on entraID until expires.
func (u *User) SessionSet(entraID, availability, activity string, now, expires time.Time) {
	u.session = &Session{EntraID: entraID, Availability: availability, Activity: activity, SetAt: now, Expires: expires}
}

// SessionMayHaveLanded records a setPresence that failed without an answer:
// it may have landed all the same, so its pair is guarded as if the session
// had just been cleared (rule 6), and it is cleared like a live one is not.
// A live session stays as it is: a failed refresh leaves it live.
func (u *User) SessionMayHaveLanded(entraID, availability, activity string, now, expires time.Time) {
	if s, ok := u.LiveSession(); ok && s.EntraID == entraID {
		return
	}
	u.session = &Session{EntraID: entraID, Availability: availability, Activity: activity, SetAt: now, Expires: expires, ClearedAt: now}
}

// SessionCleared records a clearPresence that landed (or found no session).
// The session is kept, cleared, so its pair stays guarded for echo_guard.
func (u *User) SessionCleared(now time.Time) {
	if u.session != nil && u.session.Live() {
		u.session.ClearedAt = now
	}
}

// ForgetSession drops the session altogether (it was cleared on an Entra
// user that is no longer this login's, so nothing is left to guard).
func (u *User) ForgetSession() { u.session = nil }

// PruneSession forgets a session that ended more than guard ago: its echo
// can no longer be seen.
func (u *User) PruneSession(now time.Time, guard time.Duration) {
	if s := u.session; s != nil && now.Sub(s.End()) >= guard {
		u.session = nil
	}
}

// Echo reports whether availability/activity is teamsface's own session
// pair for this user (rule 6).
func (u *User) Echo(availability, activity string, now time.Time, guard time.Duration) bool {
	s, ok := u.Session()
	return ok && s.Guards(availability, activity, now, guard)
}

// PassFailed counts a pass in which this user failed; err says why.
func (u *User) PassFailed(err error) {
	u.failures++
	u.lastError = err.Error()
}

// PassSucceeded ends a run of failed passes.
func (u *User) PassSucceeded() {
	u.failures, u.lastError = 0, ""
}

// Forgettable reports whether nothing about the user needs remembering once
// they left the match: no DND to release, no session to clear or guard.
func (u *User) Forgettable() bool { return !u.owned && u.session == nil }
