package mapping

import (
	"fmt"
	"slices"
	"strings"
)

// The presence values Microsoft documents for the Graph presence resource
// (learn.microsoft.com/graph/api/resources/presence, see /work/shared/api/graph.md).
// Rules and tests may name only these; at run time any value, including ones
// Microsoft adds later, goes through the rules unchanged.
const (
	PresenceUnknown = "PresenceUnknown"
)

// Availabilities are the documented values of presence.availability.
var Availabilities = []string{
	"Available", "AvailableIdle", "Away", "BeRightBack", "Busy", "BusyIdle",
	"DoNotDisturb", "Offline", "PresenceUnknown",
}

// Activities are the documented values of presence.activity. AvailableInactive
// is not in the resource's list but the setPresence page documents it: an
// Available/Available app session fades to Available/AvailableInactive after
// five minutes without refresh.
var Activities = []string{
	"Available", "AvailableInactive", "Away", "BeRightBack", "Busy", "DoNotDisturb",
	"InACall", "InAConferenceCall", "Inactive", "InAMeeting", "Offline", "OffWork",
	"OutOfOffice", "PresenceUnknown", "Presenting", "UrgentInterruptionsOnly",
}

// SetPresencePairs are the availability/activity pairs setPresence accepts;
// the service refuses anything else. DoNotDisturb/Presenting is only in the
// newer documentation.
var SetPresencePairs = []Pair{
	{"Available", "Available"},
	{"Busy", "InACall"},
	{"Busy", "InAConferenceCall"},
	{"Away", "Away"},
	{"DoNotDisturb", "Presenting"},
}

// realisticPresences are the pairs DecisionTable shows. They are Microsoft's
// table of Teams states ("Manage presence state using the Microsoft Graph
// API": Available/Available, Available/OutOfOffice, Busy/Busy, Busy/InACall,
// Busy/InAMeeting, DoNotDisturb/DoNotDisturb, DoNotDisturb/Presenting,
// Away/Away, BeRightBack/BeRightBack, Offline/OffWork), the fading of an app
// session (Available/AvailableInactive), and one pair for every other
// documented value so each availability and each activity a rule may name
// appears at least once (idle states as .../Inactive, conference calls,
// urgent-interruptions-only DND, Offline/Offline, out of office while away or
// offline, PresenceUnknown).
var realisticPresences = []Presence{
	{Availability: "Available", Activity: "Available"},
	{Availability: "Available", Activity: "AvailableInactive"},
	{Availability: "Available", Activity: "OutOfOffice"},
	{Availability: "AvailableIdle", Activity: "Inactive"},
	{Availability: "Away", Activity: "Away"},
	{Availability: "Away", Activity: "OutOfOffice"},
	{Availability: "BeRightBack", Activity: "BeRightBack"},
	{Availability: "Busy", Activity: "Busy"},
	{Availability: "Busy", Activity: "InACall"},
	{Availability: "Busy", Activity: "InAConferenceCall"},
	{Availability: "Busy", Activity: "InAMeeting"},
	{Availability: "BusyIdle", Activity: "Inactive"},
	{Availability: "DoNotDisturb", Activity: "DoNotDisturb"},
	{Availability: "DoNotDisturb", Activity: "Presenting"},
	{Availability: "DoNotDisturb", Activity: "UrgentInterruptionsOnly"},
	{Availability: "Offline", Activity: "Offline"},
	{Availability: "Offline", Activity: "OffWork"},
	{Availability: "Offline", Activity: "OutOfOffice"},
	{Availability: "PresenceUnknown", Activity: "PresenceUnknown"},
}

// DND is what a rule decides for the STARFACE phone.
type DND string

const (
	DNDOn   DND = "on"   // switch DND on (and own it)
	DNDOff  DND = "off"  // release a DND teamsface owns
	DNDKeep DND = "keep" // change nothing
)

func (d DND) valid() bool { return d == DNDOn || d == DNDOff || d == DNDKeep }

// Presence is one user's Teams presence as Graph reports it. OutOfOffice is Graph's
// outOfOfficeSettings.isOutOfOffice (see IsOutOfOffice for the whole signal).
type Presence struct {
	Availability, Activity string
	OutOfOffice            bool
}

// Pair is an availability/activity pair to write with setPresence.
type Pair struct {
	Availability string `yaml:"availability"`
	Activity     string `yaml:"activity"`
}

func (p Pair) String() string { return p.Availability + "/" + p.Activity }

// ValidSetPresencePair reports whether setPresence accepts p.
func ValidSetPresencePair(p Pair) bool { return slices.Contains(SetPresencePairs, p) }

// Decision is what the rules say for one presence.
type Decision struct {
	DND DND
	// Rule is the 1-based index of the rule that fired; 0 when none did.
	Rule   int
	Reason string
}

// Decide applies the rules, first match wins. PresenceUnknown (or no
// availability at all) means "no information" and always keeps; values the
// rules don't know, such as ones Microsoft adds later, are matched like any
// other and usually end up at a catch-all rule.
func (c *Config) Decide(p Presence) Decision {
	// A pass decides for thousands of users among a few dozen presences: remember each
	// decision rather than format its reason again for every user.
	if d, ok := c.decided.Load(p); ok {
		return d.(Decision)
	}
	d := c.decide(p)
	c.decided.Store(p, d)
	return d
}

func (c *Config) decide(p Presence) Decision {
	if p.Availability == "" || p.Availability == PresenceUnknown {
		return Decision{DND: DNDKeep, Reason: "presence unknown"}
	}
	for i, r := range c.TeamsToStarface.Rules {
		if r.When.matches(p) {
			return Decision{DND: r.DND, Rule: i + 1, Reason: fmt.Sprintf("rule %d: %s", i+1, r.When.describe(p))}
		}
	}
	return Decision{DND: DNDKeep, Reason: "no rule matched"}
}

func (w Condition) matches(p Presence) bool {
	if len(w.Availability) > 0 && !slices.Contains(w.Availability, p.Availability) {
		return false
	}
	if len(w.Activity) > 0 && !slices.Contains(w.Activity, p.Activity) {
		return false
	}
	if w.OutOfOffice != nil && *w.OutOfOffice != p.IsOutOfOffice() {
		return false
	}
	return true
}

// describe names the fields that made the rule match, with the user's values:
// "activity InACall", "availability Busy, activity InACall", "catch-all".
func (w Condition) describe(p Presence) string {
	var parts []string
	if len(w.Availability) > 0 {
		parts = append(parts, "availability "+p.Availability)
	}
	if len(w.Activity) > 0 {
		parts = append(parts, "activity "+p.Activity)
	}
	if w.OutOfOffice != nil && *w.OutOfOffice {
		parts = append(parts, "out of office")
	} else if w.OutOfOffice != nil {
		parts = append(parts, "not out of office")
	}
	if len(parts) == 0 {
		return "catch-all"
	}
	return strings.Join(parts, ", ")
}

// TableRow is one line of the decision table `mapping check` prints.
type TableRow struct {
	Availability, Activity string
	Decision               Decision
}

// DecisionTable shows what the rules decide for the presences Teams really
// reports (see realisticPresences for which pairs and why), grouped by
// availability in the order of Availabilities.
func (c *Config) DecisionTable() []TableRow {
	rows := make([]TableRow, 0, len(realisticPresences))
	for _, p := range realisticPresences {
		rows = append(rows, TableRow{Availability: p.Availability, Activity: p.Activity, Decision: c.Decide(p)})
	}
	return rows
}

// TestResult is the outcome of one entry of the file's tests: section.
type TestResult struct {
	Test Test
	Got  Decision
	// Redirect is "on" when the input's calls would be redirected (out_of_office), else "off".
	Redirect string
	Pass     bool
}

// RunTests runs the file's tests: section against its rules.
func (c *Config) RunTests() []TestResult {
	out := make([]TestResult, 0, len(c.Tests))
	for _, t := range c.Tests {
		p := Presence{Availability: t.Availability, Activity: t.Activity, OutOfOffice: t.OutOfOffice}
		got := c.Decide(p)
		r := TestResult{Test: t, Got: got, Pass: got.DND == t.Expect.DND}
		if c.OutOfOffice.DecideRedirect(p, true) == RedirectOn {
			r.Redirect = "on"
		} else {
			r.Redirect = "off"
		}
		if t.Expect.Redirect != "" && t.Expect.Redirect != r.Redirect {
			r.Pass = false
		}
		out = append(out, r)
	}
	return out
}
