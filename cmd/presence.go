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
	"github.com/teamsface/teamsface/state"
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
	OnCall *bool  `json:"starface_call,omitempty"`
	Error  string `json:"error,omitempty"`
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
whether teamsface owns it, the mapping's decision and what the next pass would do and why.
It reads but changes nothing.`,
		Example: `  teamsface presence get
  teamsface presence get 0003 alice@contoso.com
  teamsface presence get -o json 6f1c3e0a-1b2c-4d5e-8f90-123456789abc`,
		RunE: func(c *cobra.Command, args []string) error {
			r, err := g.newRun("")
			if err != nil {
				return err
			}
			return runPresenceGet(c.Context(), r, args)
		},
	})
	return c
}

func runPresenceGet(ctx context.Context, r *run, args []string) error {
	gc, sf, err := r.clients()
	if err != nil {
		return err
	}
	st, _, err := state.ReadOnly(r.stateDir)
	if err != nil {
		return err
	}
	defer r.close()
	r.graphNotBefore(st) // no request while an earlier run's Retry-After lasts (rule 5)
	env := r.passEnv(gc, sf, syncOptions{})
	if err := r.withOneHub(ctx, &env, sf); err != nil {
		return err
	}
	matches, err := pass.MatchUsers(ctx, r.cfg, gc, sf, env.Progress)
	if err != nil {
		return err
	}
	picked, problems := pickUsers(matches, args)
	for _, p := range problems {
		fmt.Fprintln(r.g.deps.Stderr, "teamsface:", p)
	}
	if len(picked) > 0 || len(problems) == 0 {
		if err := r.presenceOf(ctx, env, st, matches, picked); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		// The users found are listed all the same; the exit code still says some were not.
		return usagef("%s not found among the matched users (see teamsface users match)", plural(len(problems), "user", "users"))
	}
	return nil
}

// presenceOf prints the plan of the picked users.
func (r *run) presenceOf(ctx context.Context, env pass.Env, st *state.State, matches []mapping.Match, picked []mapping.Match) error {
	if len(picked) == 0 {
		return r.printPresence(nil)
	}
	// The pass's own plan, for these users and reading each one's phone config: what it shows
	// is what the next pass would do.
	only := make([]string, len(picked))
	for i, m := range picked {
		only[i] = m.Login
	}
	p, err := pass.PlanPass(ctx, env, st, pass.PlanOptions{Matches: matches, Only: only, ReadAll: true})
	if err != nil {
		return err
	}
	if p.Throttled != nil {
		return &partialError{throttledMessage(p.Throttled, r.g.deps.Now())}
	}
	byLogin := make(map[string]*pass.UserPlan, len(p.Users))
	for _, up := range p.Users {
		byLogin[up.Login] = up
	}
	rows := make([]presenceRow, len(picked))
	for i, m := range picked {
		rows[i] = presenceRowOf(byLogin[m.Login])
	}
	return r.printPresence(rows)
}

func (r *run) printPresence(rows []presenceRow) error {
	if rows == nil {
		rows = []presenceRow{}
	}
	if r.g.output == "json" {
		return printJSON(r.g.deps.Stdout, rows)
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
		if r.cfg.Starface.OneHub {
			call := "-"
			if x.OnCall != nil {
				call = yesNo(*x.OnCall)
			}
			table[i] = slices.Insert(table[i], 6, call)
		}
	}
	header := []string{"LOGIN", "UPN", "AVAILABILITY", "ACTIVITY", "DND", "OWNED", "DECISION", "NEXT", "REASON", "TEAMS SESSION"}
	if r.cfg.Starface.OneHub {
		header = slices.Insert(header, 6, "CALL")
	}
	return printTable(r.g.deps.Stdout, header, table)
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
	if up.State != nil {
		row.OnCall = &up.State.OnCall
	}
	row.DNDOwned = up.Owned && row.DND != nil && *row.DND
	switch up.DND {
	case pass.DNDSwitchOn:
		row.NextAction = "switch DND on"
	case pass.DNDRelease:
		row.NextAction = "switch DND off (release)"
	case pass.DNDAlreadyOn:
		row.NextAction = "none"
		if !up.Owned {
			row.Reason = "DND already on at the phone; not taking ownership"
		}
	case pass.DNDAlreadyOff:
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
	case pass.SessionSet, pass.SessionRefresh:
		row.NextAction = joinAction(row.NextAction, "set Teams session")
	case pass.SessionClear:
		row.NextAction = joinAction(row.NextAction, "clear Teams session")
	}
	return row
}

func joinAction(a, b string) string {
	if a == "none" {
		return b
	}
	return a + ", " + b
}

// pickUsers resolves USER arguments against the match: login, e-mail, UPN or Entra object id.
// No arguments means every matched user. Arguments that name nobody matched are returned as
// problems, one line each, so that the others can still be shown.
func pickUsers(matches []mapping.Match, args []string) (out []mapping.Match, problems []string) {
	if len(args) == 0 {
		for _, m := range matches {
			if m.Status == mapping.StatusMatched {
				out = append(out, m)
			}
		}
		return out, nil
	}
	for _, a := range args {
		key := strings.ToLower(strings.TrimSpace(a))
		var found *mapping.Match
		for i, m := range matches {
			if m.Login == a || strings.EqualFold(m.Email, key) || strings.EqualFold(m.UPN, key) || strings.EqualFold(m.EntraID, key) {
				found = &matches[i]
				break
			}
		}
		switch {
		case found == nil:
			problems = append(problems, fmt.Sprintf("user %q: no STARFACE user in scope with that login, e-mail, UPN or Entra id", a))
		case found.Status != mapping.StatusMatched:
			problems = append(problems, fmt.Sprintf("user %q (STARFACE %s) is %s: %s", a, found.Login, found.Status, dash(found.Reason)))
		default:
			out = append(out, *found)
		}
	}
	return out, problems
}
