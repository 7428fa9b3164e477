package mapping

// DNDStep is what a pass does with a user's STARFACE DND.
type DNDStep int

const (
	DNDNothing    DNDStep = iota // nothing: the decision is keep, or the DND could not be read
	DNDHolds                     // the decision holds as it is (applied before, or off with nothing owned)
	DNDSwitchOn                  // write DND on and take ownership (rule 3)
	DNDRelease                   // write an owned DND back to the value it replaced (rule 4)
	DNDAlreadyOn                 // on by hand: the decision holds, no ownership taken (rule 3)
	DNDAlreadyOff                // an owned DND was switched off by hand: ownership dropped (rule 4)
)

// Writes reports whether the step writes the phone config.
func (s DNDStep) Writes() bool { return s == DNDSwitchOn || s == DNDRelease }

// DNDMemory is what teamsface remembers of a user's DND from earlier passes (the state's user,
// as plain values).
type DNDMemory struct {
	Applied  DND  // the decision last applied; "" before the first
	Owned    bool // teamsface switched the DND on and may switch it back
	Replaced bool // the value an owned DND replaced
}

// NeedsPhone reports whether decision d may need a STARFACE write for a user teamsface
// remembers as m, so that the phone config must be read first: switching on what is not
// applied yet, or releasing what teamsface owns (rule 4: only a DND teamsface owns is ever
// switched back). Everything else is decided without a STARFACE request (rule 5).
func (m DNDMemory) NeedsPhone(d DND) bool {
	switch d {
	case DNDOn:
		return m.Applied != DNDOn
	case DNDOff:
		return m.Owned
	}
	return false
}

// DNDPlan is what a pass does with one user's DND.
type DNDPlan struct {
	Step DNDStep
	// Want is the value written and Before the value read, for DNDSwitchOn and DNDRelease.
	Want, Before bool
	// Owned says whether teamsface owns the DND as far as this pass knows, after the read and
	// before the write.
	Owned bool
}

// PlanDND decides what becomes of a user's DND (rules 3 and 4): from the mapping's decision d,
// what is remembered of the user, and the DND just read (nil: not read this pass). A user
// leaving the match is decided as off: teamsface switches back only what it owns.
func PlanDND(d DND, m DNDMemory, leaving bool, phone *bool) DNDPlan {
	if leaving {
		d = DNDOff
	}
	p := DNDPlan{Owned: m.Owned && (phone == nil || *phone)}
	switch {
	case leaving && (!m.NeedsPhone(d) || phone == nil || !*phone):
		// Nothing owned, not read, or switched off by hand since: nothing to release.
	case d == DNDKeep:
	case !m.NeedsPhone(d):
		p.Step = DNDHolds
	case phone == nil:
		// Not read (the read failed): decided again next pass.
	case d == DNDOn && *phone:
		// Already on: set by hand, or teamsface's own from before. Write nothing, take nothing.
		p.Step = DNDAlreadyOn
	case d == DNDOn:
		p.Step, p.Want, p.Before = DNDSwitchOn, true, false
	case !*phone:
		p.Step = DNDAlreadyOff
	default:
		p.Step, p.Want, p.Before = DNDRelease, m.Replaced, true
	}
	return p
}
