package mapping

import (
	"regexp"
	"strings"
)

// OutOfOffice redirects a user's calls while Microsoft says they are out of office (DESIGN.md
// "Out of office → STARFACE redirect").
type OutOfOffice struct {
	// Redirect is "off" (the default), "voicemail" or a number. Once loaded, a number is
	// digits with an optional leading 00 (a + is written as 00).
	Redirect string `yaml:"redirect"`
}

// The kinds of out_of_office.redirect.
const (
	RedirectOff       = "off"
	RedirectVoicemail = "voicemail"
)

// Enabled reports whether out-of-office redirects are on.
func (o OutOfOffice) Enabled() bool { return o.Redirect != "" && o.Redirect != RedirectOff }

// Voicemail reports whether calls go to the user's own voicemail box.
func (o OutOfOffice) Voicemail() bool { return o.Redirect == RedirectVoicemail }

// Number is the number calls go to, "" unless the target is a number.
func (o OutOfOffice) Number() string {
	if !o.Enabled() || o.Voicemail() {
		return ""
	}
	return o.Redirect
}

// numberRE is a redirect number: an internal number (digits) or an external one, in the
// international form with 00 or + before the country code. STARFACE takes digits only; a
// third-party wiki says external targets need 00 rather than + since STARFACE 7.
var numberRE = regexp.MustCompile(`^(\+|00)?[0-9]{2,20}$`)

// normalizeNumber returns a number in the form STARFACE takes (+ written as 00, spaces and
// dashes between digit groups dropped), and whether it is a valid number at all.
func normalizeNumber(s string) (string, bool) {
	n := strings.NewReplacer(" ", "", "-", "", "/", "").Replace(strings.TrimSpace(s))
	if !numberRE.MatchString(n) {
		return s, false
	}
	if rest, ok := strings.CutPrefix(n, "+"); ok {
		n = "00" + rest
	}
	return n, true
}

// IsOutOfOffice is Microsoft's out-of-office signal: outOfOfficeSettings.isOutOfOffice (Outlook
// automatic replies, Teams' scheduled out of office, an event shown as out of office) or the
// activity OutOfOffice (DESIGN.md: either one).
func (p Presence) IsOutOfOffice() bool { return p.OutOfOffice || p.Activity == "OutOfOffice" }

// RedirectWant is what the out-of-office decision wants for a user's calls.
type RedirectWant string

const (
	RedirectKeep RedirectWant = "keep" // nothing is known (PresenceUnknown, no answer): change nothing
	RedirectOn   RedirectWant = "on"   // out of office: redirect
	RedirectBack RedirectWant = "off"  // back: put back what teamsface redirected
)

// DecideRedirect says whether a user's calls should be redirected: on while they are out of
// office, off otherwise, and keep while nothing is known of them (rule 2). With redirects off it
// is always off, so that redirects a former configuration switched on are put back.
func (o OutOfOffice) DecideRedirect(p Presence, known bool) RedirectWant {
	switch {
	case !o.Enabled():
		return RedirectBack
	case !known || p.Availability == "" || p.Availability == PresenceUnknown:
		return RedirectKeep
	case p.IsOutOfOffice():
		return RedirectOn
	}
	return RedirectBack
}

// RedirectMemory is what teamsface remembers of a user's redirects (the state's user, as plain
// values).
type RedirectMemory struct {
	Applied RedirectWant // the decision last applied; "" before the first
	Owned   int          // how many redirects teamsface switched on and owns
}

// NeedsRedirects reports whether want may need a STARFACE redirect write for a user teamsface
// remembers as m, so that their redirects must be read first: switching on what is not applied
// yet, or putting back what teamsface owns. A user whose decision did not change, or who is back
// with nothing owned, costs no request at all.
func (m RedirectMemory) NeedsRedirects(want RedirectWant) bool {
	switch want {
	case RedirectOn:
		return m.Applied != RedirectOn
	case RedirectBack:
		return m.Owned > 0
	}
	return false
}

// RedirectFacts is one of the user's redirects as read now, with what teamsface remembers of it.
type RedirectFacts struct {
	// Always: its trigger is ALWAYS; Group: its number is a group's. Only a user's own ALWAYS
	// redirects are ever touched.
	Always, Group bool
	Enabled       bool
	// Owned: teamsface switched it on and remembers it as it was before. ShowsOwn: it still
	// shows what teamsface wrote (on, to the target teamsface wrote).
	Owned, ShowsOwn bool
}

// RedirectStep is what a pass does with one redirect.
type RedirectStep int

const (
	RedirectNothing  RedirectStep = iota // not teamsface's to touch, or nothing to do
	RedirectHolds                        // owned and as teamsface wrote it: stays
	RedirectSwitchOn                     // switch it on to the target and own it
	RedirectRestore                      // put it back as it was (its enabled and destination) and disown it
	RedirectOnByHand                     // already on, set by hand: left alone, not owned
	RedirectDisown                       // owned, but changed by hand since: left as it is, no longer owned
)

// Writes reports whether the step writes the redirect.
func (s RedirectStep) Writes() bool { return s == RedirectSwitchOn || s == RedirectRestore }

// PlanRedirect decides one redirect (DESIGN.md "Out of office → STARFACE redirect"): while out of
// office, a user's own ALWAYS redirects are switched on and owned, except one already on by
// hand; when back, each owned one that still shows what teamsface wrote is put back, and one
// changed by hand meanwhile is disowned and left. Busy and timeout redirects and group numbers
// are never touched. Why, with the redirect's number and target, is the caller's to say: the
// step's comment above is the reason in short.
func PlanRedirect(want RedirectWant, f RedirectFacts) RedirectStep {
	switch {
	case want == RedirectKeep:
		return RedirectNothing
	case f.Owned && !f.ShowsOwn:
		return RedirectDisown
	case !f.Always || f.Group:
		return RedirectNothing
	case want == RedirectOn && f.Owned:
		return RedirectHolds
	case want == RedirectOn && f.Enabled:
		return RedirectOnByHand
	case want == RedirectOn:
		return RedirectSwitchOn
	case f.Owned:
		return RedirectRestore
	}
	return RedirectNothing
}
