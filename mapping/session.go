package mapping

import "time"

// SessionStep is what a pass does with a user's Teams presence session (STARFACE → Teams).
type SessionStep int

const (
	SessionNothing SessionStep = iota
	SessionSet                 // set a session, or set it anew with another pair
	SessionRefresh             // set the same session again before it runs out
	SessionClear               // clear the session
)

// Session is a live Teams presence session teamsface holds for a user (the state's session, as
// plain values).
type Session struct {
	Pair
	Expires time.Time
}

// SessionFacts is what a pass knows of a user when it plans their Teams presence session.
type SessionFacts struct {
	// Leaving: the user is no longer matched; a session is cleared.
	Leaving bool
	// DND is the user's STARFACE DND once this pass's write is done; DNDKnown is false when
	// it was not read this pass (neither over REST nor from OneHub).
	DND, DNDKnown bool
	// Owned: teamsface owns that DND (switched it on), so it is no hand-set DND to show.
	Owned bool
	// OnCall is whether the user is on a STARFACE call; CallKnown is false without OneHub or
	// while OneHub cannot be read.
	OnCall, CallKnown bool
	// Live is the session teamsface holds on the matched Entra user; nil when none.
	Live *Session
	// OneHub: starface.onehub is on, so that calls can be seen at all.
	OneHub bool
	Now    time.Time
}

// SessionPlan is what a pass does with one user's Teams presence session, and why.
type SessionPlan struct {
	Step   SessionStep
	Pair   Pair // the pair a set or refreshed session shows
	Reason string
}

// PlanSession keeps one Teams presence session per user whose DND was switched on at STARFACE by
// hand (not by teamsface), or, with on_call and OneHub, who is on a STARFACE call: set it,
// refresh it when less than half its time is left, and clear it as soon as neither holds or the
// user leaves the match (DESIGN.md "STARFACE → Teams"). A hand-set DND wins over a call. With
// the direction disabled it only clears sessions left over.
func (s StarfaceToTeams) PlanSession(f SessionFacts) SessionPlan {
	live := f.Live
	switch {
	case f.Leaving && live != nil:
		return SessionPlan{Step: SessionClear, Reason: "no longer matched"}
	case f.Leaving, !f.DNDKnown:
		// The DND was not read this pass (OneHub reports it with the call, so the call is not
		// known either): nothing to decide until it is.
		return SessionPlan{}
	}
	var pair Pair
	var why string
	switch {
	case !s.Enabled:
	case f.DND && !f.Owned: // the DND is known: see above
		pair, why = s.OnDND, "DND switched on at STARFACE by hand"
	case f.CallKnown && f.OnCall && s.OnCall != (Pair{}):
		pair, why = s.OnCall, "on a STARFACE call"
	}
	want := pair != (Pair{})
	if !want && live != nil && !f.CallKnown && f.OneHub && live.Pair == s.OnCall {
		// OneHub is down and REST cannot see calls: an on_call session stays until OneHub says
		// the call ended (or it runs out), rather than flapping off and on.
		return SessionPlan{}
	}
	switch {
	case want && live == nil:
		return SessionPlan{Step: SessionSet, Pair: pair, Reason: why + ": show " + pair.String() + " in Teams"}
	case want && live.Pair != pair:
		return SessionPlan{Step: SessionSet, Pair: pair, Reason: why + ": show " + pair.String() + " in Teams instead"}
	case want && live.Expires.Sub(f.Now) < s.Expiration/2:
		return SessionPlan{Step: SessionRefresh, Pair: pair, Reason: "refresh the Teams session before it expires"}
	case want:
		return SessionPlan{Pair: pair}
	case live != nil && f.CallKnown && !f.DND && !f.OnCall:
		return SessionPlan{Step: SessionClear, Reason: "no DND and no call at STARFACE: clear the Teams session"}
	case live != nil:
		return SessionPlan{Step: SessionClear, Reason: "DND is off at STARFACE (or teamsface owns it): clear the Teams session"}
	}
	return SessionPlan{}
}

// sessionRank is how Teams ranks the availability of app sessions against each other
// (graph.md): DoNotDisturb > Busy > Available > Away.
var sessionRank = map[string]int{"Offline": 0, "Away": 1, "BeRightBack": 1, "Available": 2, "AvailableIdle": 2,
	"Busy": 3, "BusyIdle": 3, "DoNotDisturb": 4}

// Outranked reports whether Teams shows a presence that ranks below teamsface's live session
// pair: no app session can make that happen, only a status the user picked by hand in Teams,
// which beats every session. Colleagues then see that status, not the session.
func Outranked(session Pair, shown Presence) bool {
	if shown.Availability == session.Availability && shown.Activity == session.Activity {
		return false
	}
	got, ok := sessionRank[shown.Availability]
	return ok && got < sessionRank[session.Availability]
}
