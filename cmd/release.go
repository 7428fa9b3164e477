package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/state"
)

type releaseOptions struct {
	dryRun bool
}

func newReleaseCmd(g *globals) *cobra.Command {
	o := &releaseOptions{}
	c := &cobra.Command{
		Use:   "release",
		Short: "Switch back every DND teamsface switched on, clear its Teams sessions, forget them",
		Long: `Release everything teamsface holds, for moving it to another state directory or host,
uninstalling it, or handing over to another presence sync (STARFACE's built-in Microsoft
Presence, a Teams module): every DND teamsface switched on and that is still on goes back to the
value it replaced, every Teams presence session it set is cleared, and then those users are
forgotten. A DND someone set by hand is never touched. Stop "sync watch" (or the timer) first,
or the next pass switches DND on again for everyone in a call.

It works from what the state directory remembers, so run it with the --state-dir (and the
configuration) the installation uses. Exit 0 when everything was released (the state is then
empty), 3 when some users failed: they stay remembered, run it again. --dry-run shows what it
would do and changes nothing.`,
		Example: `  teamsface release --dry-run
  teamsface release --config /etc/teamsface/mapping.yaml --state-dir /var/lib/teamsface`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			r, err := g.newRun("")
			if err != nil {
				return err
			}
			sd := g.watchSignals(c.Context())
			defer sd.release()
			return runRelease(sd.hard, r, *o)
		},
	}
	c.Flags().BoolVar(&o.dryRun, "dry-run", false, "show what would be released; change nothing")
	return c
}

// runRelease is `teamsface release`.
func runRelease(ctx context.Context, r *run, o releaseOptions) error {
	gc, sf, err := r.clients()
	if err != nil {
		return err
	}
	env := r.passEnv(gc, sf, syncOptions{})
	ctx, cancel := context.WithTimeout(ctx, defaultPassTimeout)
	if st, _, err := state.ReadOnly(r.stateDir); err == nil {
		r.graphNotBefore(st) // no Graph request while an earlier run's Retry-After lasts (rule 5)
	}
	defer cancel()
	if o.dryRun {
		st, _, err := state.ReadOnly(r.stateDir)
		if err != nil {
			return err
		}
		env, _ = pass.DryRun(env)
		rep, err := pass.PlanRelease(ctx, env, st).Execute(ctx, env, st)
		if err != nil {
			return err
		}
		return r.printRelease(rep, st, true)
	}
	store, st, err := r.openState(false)
	if err != nil {
		return err
	}
	defer store.Close()
	env.Journal = store
	pending, err := store.Pending()
	if err != nil {
		return err
	}
	settled, leftover := pass.Settle(ctx, env, st, pending)
	rep, err := pass.PlanRelease(ctx, env, st).Execute(ctx, env, st)
	if err != nil {
		return err
	}
	rep.Changes = append(settled, rep.Changes...)
	if pass.Released(st) {
		st.SetMatch(nil) // forget the match with the users: a new installation matches anew
	}
	if err := store.Save(st, append(leftover, rep.Leftover...)...); err != nil {
		return err
	}
	if err := r.printRelease(rep, st, false); err != nil {
		return err
	}
	return failedErr(rep)
}

func (r *run) printRelease(rep *pass.Report, st *state.State, dryRun bool) error {
	if r.g.output == "json" {
		return printJSON(r.g.deps.Stdout, rep)
	}
	s := rep.Summary
	verb := "released"
	if dryRun {
		verb = "dry run, nothing changed: would release"
	}
	left := ""
	if !dryRun && st.Len() > 0 {
		left = fmt.Sprintf("; %s still remembered (run it again)", plural(st.Len(), "user", "users"))
	}
	fmt.Fprintf(r.g.deps.Stderr, "%s %s, cleared %s, %s failed%s\n", verb, plural(s.Released, "DND", "DNDs"),
		plural(s.SessionsCleared, "Teams session", "Teams sessions"), plural(s.Failed, "user", "users"), left)
	if len(rep.Changes) == 0 {
		return nil
	}
	return printTable(r.g.deps.Stdout, []string{"LOGIN", "UPN", "AVAILABILITY", "ACTIVITY", "DND BEFORE", "ACTION", "REASON"}, changeRows(rep.Changes))
}
