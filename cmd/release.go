package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/cmd/internal/pass"
)

type releaseOptions struct {
	dryRun bool
}

func newReleaseCmd(g *globals) *cobra.Command {
	o := &releaseOptions{}
	c := &cobra.Command{
		Use:   "release",
		Short: "Put back every DND and redirect teamsface switched on, clear its Teams sessions, forget them",
		Long: `Release everything teamsface holds, for moving it to another state directory or host,
uninstalling it, or handing over to another presence sync (STARFACE's built-in Microsoft
Presence, a Teams module): every DND teamsface switched on and that is still on goes back to the
value it replaced, every redirect it switched on (out of office) goes back to what it was, every
Teams presence session it set is cleared, and then those users are forgotten. A DND or redirect
someone set by hand is never touched. Stop "sync watch" (or the timer) first, or the next pass
switches DND on again for everyone in a call.

It works from what the state directory remembers, so run it with the --state-dir (and the
configuration) the installation uses. Exit 0 when everything was released (the state is then
empty), 3 when some users failed: they stay remembered, run it again. --dry-run shows what it
would do and changes nothing.`,
		Example: `  teamsface release --dry-run
  teamsface release --config /etc/teamsface/mapping.yaml --state-dir /var/lib/teamsface`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := g.factory("")
			if err != nil {
				return err
			}
			sd := g.watchSignals(c.Context(), g.noticeLogger(false))
			defer sd.release()
			return runRelease(sd.hard, f, *o)
		},
	}
	c.Flags().BoolVar(&o.dryRun, "dry-run", false, "show what would be released; change nothing")
	return c
}

// runRelease is `teamsface release`: the runner releases what the state remembers; this prints
// it. With --dry-run the run is read-only and withholds every write.
func runRelease(ctx context.Context, f *factory, o releaseOptions) error {
	env, err := f.env(0)
	if err != nil {
		return err
	}
	defer f.svc.close()
	mode := pass.Write
	if o.dryRun {
		mode = pass.ReadOnly
	}
	run, err := f.open(pass.OpenOptions{Mode: mode})
	if err != nil {
		return err
	}
	defer run.Close()
	ctx, cancel := context.WithTimeout(ctx, defaultPassTimeout)
	defer cancel()
	rep, err := run.Release(ctx, env)
	if err != nil {
		return err
	}
	if err := f.g.printRelease(rep, o.dryRun); err != nil {
		return err
	}
	switch n := rep.FailedUsers(); {
	case o.dryRun:
	case n > 0:
		// Not "retried next pass": a release is run by hand, before an uninstall or a move.
		return &partialError{plural(n, "user", "users") + " could not be released and stay remembered: run teamsface release again"}
	case len(rep.Leftover) > 0:
		// A write an earlier run made may still be on (its phone or redirects could not be read
		// to tell): it stays in the journal, and the release is not done until it is checked.
		return &partialError{plural(len(rep.Leftover), "write of an earlier run", "writes of an earlier run") +
			" could not be checked and stay in the journal: run teamsface release again"}
	}
	return nil
}

func (g *globals) printRelease(rep *pass.Report, dryRun bool) error {
	if g.output == "json" {
		return printJSON(g.deps.Stdout, rep)
	}
	s := rep.Summary
	dnds, sessions := plural(s.Released, "DND", "DNDs"), plural(s.SessionsCleared, "Teams session", "Teams sessions")
	redirects := ""
	if s.RedirectsRestored > 0 || s.RedirectsFailed > 0 {
		redirects = plural(s.RedirectsRestored, "redirect", "redirects")
	}
	switch {
	case dryRun && redirects != "":
		fmt.Fprintf(g.deps.Stderr, "dry run, nothing changed: would release %s, clear %s and put back %s", dnds, sessions, redirects)
	case dryRun:
		fmt.Fprintf(g.deps.Stderr, "dry run, nothing changed: would release %s and clear %s", dnds, sessions)
	case redirects != "":
		fmt.Fprintf(g.deps.Stderr, "released %s, cleared %s, put back %s, %s failed", dnds, sessions, redirects, plural(s.Failed, "user", "users"))
	default:
		fmt.Fprintf(g.deps.Stderr, "released %s, cleared %s, %s failed", dnds, sessions, plural(s.Failed, "user", "users"))
	}
	switch {
	case dryRun:
		if s.Failed > 0 {
			fmt.Fprintf(g.deps.Stderr, "; %s could not be read", plural(s.Failed, "user", "users"))
		}
	case rep.Remembered > 0:
		fmt.Fprintf(g.deps.Stderr, "; %s still remembered (run it again)", plural(rep.Remembered, "user", "users"))
	}
	fmt.Fprintln(g.deps.Stderr)
	if len(rep.Changes) == 0 {
		return nil
	}
	return printTable(g.deps.Stdout, []string{"LOGIN", "UPN", "AVAILABILITY", "ACTIVITY", "DND BEFORE", "ACTION", "REASON"}, changeRows(rep.Changes))
}
