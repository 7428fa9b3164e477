package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/mapping"
)

// presenceRow is one user in `presence get`; the JSON names are stable.
type presenceRow struct {
	Login          string `json:"login"`
	UPN            string `json:"upn"`
	Availability   string `json:"availability"`
	Activity       string `json:"activity"`
	DND            *bool  `json:"dnd"`
	DNDOwned       bool   `json:"dnd_owned"`
	Decision       string `json:"decision"`
	NextAction     string `json:"next_action"`
	Reason         string `json:"reason"`
	Session        string `json:"teams_session,omitempty"`
	SessionExpires string `json:"teams_session_expires,omitempty"`
	// UserPreferred: Teams shows a status the user picked by hand, which beats teamsface's
	// session; colleagues see that, not the session.
	UserPreferred bool `json:"teams_user_preferred,omitempty"`
	// OnCall is whether the user is on a STARFACE call (STARFACE 10's OneHub only).
	OnCall *bool `json:"starface_call,omitempty"`
	// OutOfOffice is Microsoft's out-of-office signal (nil: not known); Redirects the user's
	// own ALWAYS redirects and those teamsface owns, with what the next pass does with each
	// (out_of_office.redirect only).
	OutOfOffice *bool         `json:"out_of_office,omitempty"`
	Redirects   []redirectRow `json:"redirects,omitempty"`
	Error       string        `json:"error,omitempty"`
}

// redirectRow is one redirect in `presence get`.
type redirectRow struct {
	ID          string `json:"id"`
	Number      string `json:"number"`
	Trigger     string `json:"trigger"`
	Enabled     bool   `json:"enabled"`
	Destination string `json:"destination"`
	Owned       bool   `json:"owned"` // teamsface switched it on and puts it back
	Next        string `json:"next"`  // none, switch on, put back, leave (by hand), disown
	Reason      string `json:"reason,omitempty"`
}

// redirectNext names what a pass does with a redirect.
var redirectNext = map[mapping.RedirectStep]string{
	mapping.RedirectNothing: "none", mapping.RedirectHolds: "none", mapping.RedirectSwitchOn: "switch on",
	mapping.RedirectRestore: "put back", mapping.RedirectOnByHand: "none (on by hand)", mapping.RedirectDisown: "disown (changed by hand)",
}

func newPresenceCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "presence", Short: "Inspect Teams presence and STARFACE DND",
		Long:    "Show, without changing anything, each user's Teams presence, STARFACE DND and what the next\npass would decide for them.",
		Example: "  teamsface presence get 0003\n  teamsface presence get alice@contoso.com -o json"}
	c.AddCommand(&cobra.Command{
		Use:   "get [USER...]",
		Short: "Show Teams presence, STARFACE DND and what the next pass would do",
		Long: `For each USER (a STARFACE login such as 0003, an e-mail address, a UPN or an Entra object id;
none means every matched user) show the Teams availability and activity, the STARFACE DND and
whether teamsface owns it, the mapping's decision and what the next pass would do and why;
with out_of_office, whether Microsoft says the user is out of office and their redirects (on or
off, the target, teamsface's or set by hand). It reads but changes nothing. A USER that names
no matched user is said on stderr; the exit code is then 1 when none of the USERs was found, 3
when the others were shown.`,
		ValidArgsFunction: cobra.NoFileCompletions, // a USER is no file name
		Example: `  teamsface presence get
  teamsface presence get 0003 alice@contoso.com
  teamsface presence get -o json 6f1c3e0a-1b2c-4d5e-8f90-123456789abc`,
		RunE: func(c *cobra.Command, args []string) error {
			f, err := g.factory("")
			if err != nil {
				return err
			}
			return runPresenceGet(c.Context(), f, args)
		},
	})
	return c
}

// runPresenceGet is `presence get`: a read-only run plans the next pass for the users asked
// about, and their rows are printed.
func runPresenceGet(ctx context.Context, f *factory, args []string) error {
	env, err := f.liveEnv(ctx, 0)
	if err != nil {
		return err
	}
	defer f.svc.close()
	run, err := f.open(pass.OpenOptions{Mode: pass.ReadOnly})
	if err != nil {
		return err
	}
	defer run.Close()
	v, err := run.Presence(ctx, env, args)
	if err != nil {
		return err
	}
	for _, p := range v.Problems {
		fmt.Fprintln(f.g.deps.Stderr, "teamsface:", p)
	}
	if len(v.Users) > 0 || len(v.Problems) == 0 {
		rows := make([]presenceRow, len(v.Users))
		for i, up := range v.Users {
			rows[i] = presenceRowOf(up)
		}
		if err := f.g.printPresence(rows, f.cfg().Starface.OneHub, f.cfg().OutOfOffice.Enabled()); err != nil {
			return err
		}
	}
	if len(v.Problems) > 0 {
		// The users found are listed all the same; the exit code still says some were not.
		return usersNotFound(len(v.Problems), len(v.Users))
	}
	return nil
}

func (g *globals) printPresence(rows []presenceRow, oneHub, ooo bool) error {
	if rows == nil {
		rows = []presenceRow{}
	}
	if g.output == "json" {
		return printJSON(g.deps.Stdout, rows)
	}
	table := make([][]string, len(rows))
	for i, x := range rows {
		reason := x.Reason
		if x.Error != "" {
			reason = x.Error
		}
		session := "-"
		if x.Session != "" {
			session = x.Session + " until " + x.SessionExpires
		}
		if x.UserPreferred {
			session += " (hidden: the status the user picked in Teams wins)"
		}
		table[i] = []string{x.Login, x.UPN, dash(x.Availability), dash(x.Activity), onOff(x.DND), yesNo(x.DNDOwned), x.Decision, x.NextAction, reason, session}
		if oneHub {
			call := "-"
			if x.OnCall != nil {
				call = yesNo(*x.OnCall)
			}
			table[i] = slices.Insert(table[i], 6, call)
		}
		if ooo {
			out := "-"
			if x.OutOfOffice != nil {
				out = yesNo(*x.OutOfOffice)
			}
			table[i] = append(table[i], out, redirectSummary(x.Redirects))
		}
	}
	header := []string{"LOGIN", "UPN", "AVAILABILITY", "ACTIVITY", "DND", "OWNED", "DECISION", "NEXT", "REASON", "TEAMS SESSION"}
	if oneHub {
		header = slices.Insert(header, 6, "CALL")
	}
	if ooo {
		header = append(header, "OUT OF OFFICE", "REDIRECTS")
	}
	return printTable(g.deps.Stdout, header, table)
}

// presenceRowOf renders one user's plan.
func presenceRowOf(up *pass.UserPlan) presenceRow {
	row := presenceRow{Login: up.Login, UPN: up.Match.UPN, Availability: up.Presence.Availability,
		Activity: up.Presence.Activity, Decision: string(up.Decision.DND), Reason: up.Decision.Reason}
	if s := up.LiveSession; s != nil {
		row.Session = s.Availability + "/" + s.Activity
		row.SessionExpires = s.Expires.Format(time.RFC3339)
		row.UserPreferred = up.UserPreferred
	}
	if up.Err != nil {
		row.Error = up.Err.Error()
		row.NextAction = "unknown"
		return row
	}
	if up.Phone != nil {
		row.DND = &up.Phone.DoNotDisturb
	}
	if up.OneHub != nil {
		row.OnCall = &up.OneHub.OnCall
	}
	row.DNDOwned = up.Owned && row.DND != nil && *row.DND
	switch up.DND {
	case mapping.DNDSwitchOn:
		row.NextAction = "switch DND on"
	case mapping.DNDRelease:
		row.NextAction = "switch DND off (release)"
	case mapping.DNDAlreadyOn:
		row.NextAction = "none"
		if !up.Owned {
			row.Reason = "DND already on at the phone; not taking ownership"
		}
	case mapping.DNDAlreadyOff:
		row.NextAction = "none"
		row.Reason = "DND was switched off at the phone; nothing to release"
	default:
		row.NextAction = "none"
		if row.DND != nil && *row.DND && !up.Owned {
			// Why a DND that is on stays on whatever Teams shows (rule 4).
			row.Reason += "; DND on, not switched on here (by hand, or by a teamsface with another state directory): left alone"
		}
	}
	switch up.Session {
	case mapping.SessionSet, mapping.SessionRefresh:
		row.NextAction = joinAction(row.NextAction, "set Teams session")
	case mapping.SessionClear:
		row.NextAction = joinAction(row.NextAction, "clear Teams session")
	}
	if up.PresenceKnown {
		out := up.MappedPresence().IsOutOfOffice()
		row.OutOfOffice = &out
	}
	on, back := 0, 0
	for _, rp := range up.RedirectPlans {
		r := rp.Redirect
		_, owned := up.OwnedRedirect(r.ID())
		row.Redirects = append(row.Redirects, redirectRow{ID: r.ID(), Number: r.PhoneNumber(), Trigger: string(r.Trigger()),
			Enabled: r.Enabled(), Destination: r.Destination().String(), Owned: owned, Next: redirectNext[rp.Step], Reason: rp.Reason})
		switch rp.Step {
		case mapping.RedirectSwitchOn:
			on++
		case mapping.RedirectRestore:
			back++
		}
	}
	if on > 0 {
		row.NextAction = joinAction(row.NextAction, "switch "+plural(on, "redirect", "redirects")+" on")
	}
	if back > 0 {
		row.NextAction = joinAction(row.NextAction, "put "+plural(back, "redirect", "redirects")+" back")
	}
	if up.RedirectErr != nil {
		row.Error = up.RedirectErr.Error() // the DND columns stand: only the redirects cannot be done
	}
	return row
}

// redirectSummary is the REDIRECTS column: each redirect's number, state and owner.
func redirectSummary(rs []redirectRow) string {
	if len(rs) == 0 {
		return "-"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		state := "off"
		if r.Enabled {
			state = "on → " + r.Destination
		}
		switch {
		case r.Owned:
			state += " (teamsface's)"
		case r.Enabled:
			state += " (by hand)"
		}
		parts[i] = r.Number + " " + state
	}
	return strings.Join(parts, "; ")
}

func joinAction(a, b string) string {
	if a == "none" {
		return b
	}
	return a + ", " + b
}
