package cmd

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/graph"
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
	Error          string `json:"error,omitempty"`
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
	matches, err := matchUsers(ctx, r.cfg, gc, sf, r.progress())
	if err != nil {
		return err
	}
	picked, err := pickUsers(matches, args)
	if err != nil {
		return err
	}
	st, _, err := state.ReadOnly(r.stateDir)
	if err != nil {
		return err
	}
	ids := make([]string, len(picked))
	for i, m := range picked {
		ids[i] = m.EntraID
	}
	res, err := gc.GetPresences(ctx, ids)
	if err != nil {
		return fmt.Errorf("read Teams presence: %w", err)
	}
	env := passEnv{cfg: r.cfg, log: r.log, now: r.g.deps.Now, dryRun: true}
	rows := make([]presenceRow, len(picked))
	var mu sync.Mutex
	forEach(ctx, len(picked), r.cfg.Starface.Concurrency, func(i int) {
		m := picked[i]
		row := presenceFor(ctx, env, sf, st, m, res)
		mu.Lock()
		rows[i] = row
		mu.Unlock()
	})
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
		table[i] = []string{x.Login, x.UPN, dash(x.Availability), dash(x.Activity), onOff(x.DND), yesNo(x.DNDOwned), x.Decision, x.NextAction, reason, session}
	}
	return printTable(r.g.deps.Stdout, []string{"LOGIN", "UPN", "AVAILABILITY", "ACTIVITY", "DND", "OWNED", "DECISION", "NEXT", "REASON", "TEAMS SESSION"}, table)
}

// presenceFor explains one user with the pass's own decision code on a copy of their state, so
// what it shows is what the next pass would do.
func presenceFor(ctx context.Context, env passEnv, sf starfaceAPI, st *state.State, m mapping.Match, res graph.PresenceResult) presenceRow {
	u := state.User{StarfaceID: m.StarfaceID}
	if s := st.Users[m.Login]; s != nil {
		u = *s
	}
	w := &userWork{login: m.Login, match: m, u: &u}
	if p, ok := res.Presences[m.EntraID]; ok {
		w.presence = p
		w.known = p.Availability != "" && p.Availability != "PresenceUnknown"
	}
	rep := &PassReport{}
	decide(env, w, rep, env.now())
	row := presenceRow{Login: m.Login, UPN: m.UPN, Availability: w.presence.Availability, Activity: w.presence.Activity,
		Decision: string(w.decision.DND), Reason: w.decision.Reason}
	if s := u.Session; s != nil && s.ClearedAt.IsZero() {
		row.Session = s.Availability + "/" + s.Activity
		row.SessionExpires = s.Expires.Format(time.RFC3339)
	}
	pc, err := sf.PhoneConfig(ctx, m.StarfaceID)
	if err != nil {
		row.Error = fmt.Sprintf("starface: read phone config of %s: %v", m.Login, err)
		row.NextAction = "unknown"
		return row
	}
	dnd := pc.DoNotDisturb
	row.DND = &dnd
	if u.Owned && !dnd {
		u.Owned = false
	}
	row.DNDOwned = u.Owned && dnd
	w.pc, w.read = pc, true
	planWrite(w, rep)
	switch {
	case w.intent != nil && w.intent.Want:
		row.NextAction = "switch DND on"
	case w.intent != nil:
		row.NextAction = "switch DND off (release)"
	case len(rep.Changes) > 0:
		row.NextAction = "none"
		row.Reason = rep.Changes[0].Reason
	default:
		row.NextAction = "none"
	}
	return row
}

// pickUsers resolves USER arguments against the match: login, e-mail, UPN or Entra object id.
// No arguments means every matched user.
func pickUsers(matches []mapping.Match, args []string) ([]mapping.Match, error) {
	if len(args) == 0 {
		var out []mapping.Match
		for _, m := range matches {
			if m.Status == mapping.StatusMatched {
				out = append(out, m)
			}
		}
		return out, nil
	}
	var out []mapping.Match
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
			return nil, usagef("user %q: no STARFACE user in scope with that login, e-mail, UPN or Entra id (see teamsface users match)", a)
		case found.Status != mapping.StatusMatched:
			return nil, usagef("user %q (STARFACE %s) is %s: %s", a, found.Login, found.Status, dash(found.Reason))
		}
		out = append(out, *found)
	}
	return out, nil
}
