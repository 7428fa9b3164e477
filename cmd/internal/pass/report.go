package pass

import (
	"fmt"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/state"
)

// Actions reported for a user in a pass.
const (
	ActionSwitchOn      = "dnd-on"       // DND switched on; teamsface owns it
	ActionRelease       = "release"      // owned DND switched back
	ActionAlreadyOn     = "already-on"   // DND was already on by hand: no write, no ownership
	ActionAlreadyOff    = "already-off"  // an owned DND was switched off by hand: ownership dropped
	ActionSetPresence   = "set-presence" // STARFACE → Teams session set or refreshed
	ActionClearPresence = "clear-presence"
	ActionRedirectOn    = "redirect-on"       // out of office: a redirect switched on; teamsface owns it
	ActionRedirectBack  = "redirect-back"     // back: an owned redirect put back as it was
	ActionRedirectHand  = "redirect-by-hand"  // a redirect already on by hand: left alone, not owned
	ActionRedirectLeave = "redirect-disowned" // an owned redirect changed by hand: left, no longer owned
	ActionSettled       = "settled"           // an earlier run's write, found landed
	ActionFailed        = "failed"
)

// Summary counts what a pass did. Field names are stable JSON.
type Summary struct {
	InScope         int `json:"in_scope"`
	Matched         int `json:"matched"`
	PresenceRead    int `json:"presence_read"`
	SwitchedOn      int `json:"dnd_on"`
	Released        int `json:"released"`
	Unchanged       int `json:"unchanged"`
	Kept            int `json:"kept"`
	Failed          int `json:"failed"`
	SessionsSet     int `json:"sessions_set"`
	SessionsCleared int `json:"sessions_cleared"`
	PhoneReads      int `json:"phone_reads"`
	// OneHubStates counts users whose DND and call state came from OneHub.
	OneHubStates int `json:"onehub_states,omitempty"`
	// Out of office: redirects switched on and put back; the users whose redirects were read,
	// and the reads of all voicemail boxes (once per user match, when a redirect needs them).
	RedirectsOn       int `json:"redirects_on"`
	RedirectsRestored int `json:"redirects_restored"`
	RedirectsFailed   int `json:"redirects_failed"`
	RedirectReads     int `json:"redirect_reads,omitempty"`
	MailboxReads      int `json:"mailbox_reads,omitempty"`
}

// Add adds the counts of one pass to a running total; the scope counts are the last pass's.
func (t *Summary) Add(s Summary) {
	t.InScope, t.Matched = s.InScope, s.Matched
	t.PresenceRead += s.PresenceRead
	t.SwitchedOn += s.SwitchedOn
	t.Released += s.Released
	t.Unchanged += s.Unchanged
	t.Kept += s.Kept
	t.Failed += s.Failed
	t.SessionsSet += s.SessionsSet
	t.SessionsCleared += s.SessionsCleared
	t.PhoneReads += s.PhoneReads
	t.OneHubStates += s.OneHubStates
	t.RedirectsOn += s.RedirectsOn
	t.RedirectsRestored += s.RedirectsRestored
	t.RedirectsFailed += s.RedirectsFailed
	t.RedirectReads += s.RedirectReads
	t.MailboxReads += s.MailboxReads
}

// Change is one line of a pass's report (or, in a dry run, of its plan).
type Change struct {
	Login        string `json:"login"`
	UPN          string `json:"upn"`
	Availability string `json:"availability"`
	Activity     string `json:"activity"`
	DNDBefore    *bool  `json:"dnd_before"`
	Action       string `json:"action"`
	Reason       string `json:"reason"`
	Error        string `json:"error,omitempty"`
}

// Report is what a pass did: what `sync once` prints.
type Report struct {
	Summary Summary         `json:"summary"`
	Changes []Change        `json:"changes"`
	Matches []mapping.Match `json:"-"`
	// Leftover are intents whose outcome is still unknown; they must outlive the state save.
	Leftover []state.Intent `json:"-"`
	// Held is a refreshed user match the drop guard held back (exit 1); the pass ran with the
	// old one.
	Held *mapping.DropError `json:"-"`
	// Reads is how the STARFACE → Teams direction spread its phone-config reads.
	Reads mapping.ReadLoad `json:"-"`
	// OnAtStart are users found with DND on by a pass that started from an empty state: they
	// count as set by hand, so teamsface never switches them off.
	OnAtStart []string `json:"-"`
	// OneHubFailed: OneHub could not be read; the pass fell back to per-user REST reads.
	OneHubFailed error `json:"-"`
	// Remembered is how many users the state still remembers after a release (0: all released).
	Remembered int `json:"-"`
	// Withheld is what a read-only run did not send: its plan's writes (nil when it wrote).
	Withheld *Withheld `json:"-"`
	// Throttled: Graph asked to wait until ThrottledUntil; everyone was kept (exit 3).
	Throttled      *graph.ThrottledError `json:"-"`
	ThrottledUntil time.Time             `json:"throttled_until,omitzero"`
}

// FailedUsers is the number of users that failed, for exit code 3.
func (r *Report) FailedUsers() int { return r.Summary.Failed }

// Users says n users with the right plural.
func Users(n int) string {
	if n == 1 {
		return "1 user"
	}
	return fmt.Sprintf("%d users", n)
}
