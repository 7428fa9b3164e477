package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/graph"
)

// defaultPassTimeout bounds one pass. It is below systemd's TimeoutStopSec=2min in the units
// the README shows, so that a pass asked to stop always finishes and saves before systemd
// kills it.
const defaultPassTimeout = 90 * time.Second

type syncOptions struct {
	dryRun bool
	// detailedExitCode (with dryRun): exit 6 when the plan would change something.
	detailedExitCode bool
	refreshUsers     bool
	acceptDrop       bool
	resetState       bool
	metricsFile      string
	interval         time.Duration
	passTimeout      time.Duration
	// quiet (-q) prints nothing on success: no summary, no changes, no start and stop lines.
	quiet bool
	// metricsListen is sync watch's --metrics-listen address ("" = none).
	metricsListen string

	// announce: sync watch logs its start, its users in scope and its stop even at the default
	// log level (not the demo, whose narration is its own).
	announce bool
	// reload receives a value per SIGHUP: sync watch re-reads the configuration.
	reload <-chan struct{}
	// elapsed is the time since the previous pass of a sync watch (0 before the first).
	elapsed time.Duration
}

func newSyncCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "sync",
		Short: "Bring STARFACE DND in line with Teams presence",
		Long: `Read Teams presence for every matched user, decide with the mapping whether their STARFACE
phone should be on Do-Not-Disturb (and, with out_of_office, whether their calls are redirected),
and write only what changed. "sync once" runs one pass (for cron or a systemd timer); "sync
watch" runs passes in a loop.`,
		Example: "  teamsface sync once --dry-run\n  teamsface sync watch --interval 10s",
	}
	c.AddCommand(newSyncOnceCmd(g), newSyncWatchCmd(g))
	return c
}

func addSyncFlags(c *cobra.Command, o *syncOptions) {
	c.Flags().BoolVar(&o.refreshUsers, "refresh-users", false, "match users anew instead of using the cached match")
	c.Flags().BoolVar(&o.acceptDrop, "accept-drop", false, "apply a refreshed user match even if it drops more matched users than users.max_drop allows (once)")
	c.Flags().BoolVar(&o.resetState, "reset-state", false, "forget the state file (after a corrupt one); teamsface then no longer knows which DND it switched on")
	c.Flags().StringVar(&o.metricsFile, "metrics-file", "", "write Prometheus text-format metrics here after every pass (node_exporter textfile collector); sync once exits 1 when it cannot")
	c.Flags().DurationVar(&o.passTimeout, "pass-timeout", defaultPassTimeout, "longest a pass may take; a first SIGINT/SIGTERM lets the pass in flight finish within it")
	c.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print nothing on success (for cron): no summary and no changes; warnings, errors and the exit code stay")
}

func newSyncOnceCmd(g *globals) *cobra.Command {
	o := &syncOptions{}
	c := &cobra.Command{
		Use:   "once",
		Short: "Run one sync pass",
		Long: `Run one pass: read Teams presence, decide, switch STARFACE DND (and, with out_of_office,
redirects) where the decision changed, record it in the state directory. Exit 0 when done (also
when nothing changed), 3 when some users failed (they are retried next pass). --dry-run reads
everything, prints the plan and changes nothing on either service nor in the state file.

With --dry-run, --detailed-exitcode makes the exit code say whether the plan would change
anything (for CI, as terraform plan -detailed-exitcode): 6 when it would write to STARFACE or
Teams, with a line that says how much, 0 when it would write nothing, 3 when some users could
not be planned.

-q prints nothing when the pass succeeds (for cron, which mails any output): no summary and no
table of changes; warnings, errors and the exit code stay. A --metrics-file that cannot be
written is exit 1 after the pass, whose work is done and saved all the same.

A first SIGINT or SIGTERM lets the pass finish (within --pass-timeout) and save its state; a
second one ends teamsface at once (the next run settles what it left open).`,
		Example: `  teamsface sync once
  teamsface sync once --dry-run -o json
  teamsface sync once --dry-run --detailed-exitcode
  teamsface sync once -q --metrics-file /var/lib/node_exporter/teamsface.prom`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			f, err := g.factory("")
			if err != nil {
				return err
			}
			sd := g.watchSignals(c.Context(), g.noticeLogger(o.quiet))
			defer sd.release()
			return runSyncOnce(sd.hard, f, *o)
		},
	}
	c.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the plan; write nothing to STARFACE, Teams or the state file")
	c.Flags().BoolVar(&o.detailedExitCode, "detailed-exitcode", false, "with --dry-run: exit 6 when the plan would change something, 0 when not (CI)")
	c.Flags().DurationVar(&o.interval, "interval", 10*time.Second, "how often cron or the timer runs this (spreads the STARFACE → Teams reads)")
	addSyncFlags(c, o)
	return c
}

func newSyncWatchCmd(g *globals) *cobra.Command {
	o := &syncOptions{}
	c := &cobra.Command{
		Use:   "watch",
		Short: "Run sync passes in a loop until stopped",
		Long: `Run a pass every --interval, keeping clients and tokens in memory, until SIGINT or SIGTERM:
the pass in flight is finished (within --pass-timeout) and the state saved, then it exits 0; a
second signal ends it at once. A failed pass is logged and retried after a growing pause (up to
a minute, honouring Retry-After); an authentication failure ends it with exit 4, since only a
person can fix that.

It logs a line when it starts (version, configuration, state directory, interval), one with the
users in scope after its first pass, and one when it stops and why, even at the default log
level (--log-level error and -q leave them out). At --log-level info, every pass that changed
something logs its counts. Changes are printed to stdout as they happen (-q: not at all).

SIGHUP re-reads the configuration file: a valid one applies from the next pass (a client is
built anew when its section or a secret it reads changed); a bad one is logged and the running
configuration stays. Not on Windows, which has no SIGHUP: restart the service there.

--metrics-listen ADDR serves /metrics (the --metrics-file metrics, teamsface_build_info and the
Go runtime's) and /healthz: 200 while the last successful pass started at most
3 × --interval + --pass-timeout ago (before the first pass has finished: while teamsface started
at most that long ago), else 503; either with a one-line reason. A wait that Graph asked for
(Retry-After) counts as healthy.`,
		Example: `  teamsface sync watch
  teamsface sync watch --interval 10s --metrics-listen :9464
  teamsface sync watch --interval 10s --metrics-file /var/lib/node_exporter/teamsface.prom`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			f, err := g.factory("")
			if err != nil {
				return err
			}
			sd := g.watchSignalsAndHangup(c.Context(), g.noticeLogger(o.quiet))
			defer sd.release()
			o.announce, o.reload = true, sd.reload
			return runSyncWatch(sd.hard, sd.stop, f, *o, nil)
		},
	}
	c.Flags().DurationVar(&o.interval, "interval", 10*time.Second, "time between the starts of two passes (1s or more)")
	c.Flags().StringVar(&o.metricsListen, "metrics-listen", "", "serve /metrics (Prometheus) and /healthz on this address, e.g. :9464 or 127.0.0.1:9464")
	addSyncFlags(c, o)
	return c
}

func (o syncOptions) check() error {
	if o.interval < time.Second {
		return usagef("--interval %s is too short; use 1s or more", o.interval)
	}
	if o.passTimeout <= 0 {
		return usagef("--pass-timeout %s is not valid; use a positive duration such as 90s", o.passTimeout)
	}
	if o.dryRun && o.resetState {
		return usagef("--dry-run and --reset-state do not go together")
	}
	if o.metricsListen != "" {
		if err := checkListenAddr(o.metricsListen); err != nil {
			return err
		}
	}
	if o.dryRun && o.quiet {
		return usagef("--dry-run prints the plan, which --quiet would hide; use one of them")
	}
	if o.detailedExitCode && !o.dryRun {
		return usagef("--detailed-exitcode says whether a plan would change something; it needs --dry-run")
	}
	return nil
}

// runSyncOnce is `sync once`: one pass by the runner's protocol, then its summary, its
// metrics and its exit code. With --dry-run the run is read-only: the pass plans, withholds
// every write and is printed as the plan.
func runSyncOnce(ctx context.Context, f *factory, o syncOptions) error {
	if o.passTimeout <= 0 {
		o.passTimeout = defaultPassTimeout
	}
	env, err := f.liveEnv(ctx, o.interval)
	if err != nil {
		return err
	}
	defer f.svc.close()
	mode := pass.Write
	if o.dryRun {
		mode = pass.ReadOnly
	}
	run, err := f.open(pass.OpenOptions{Mode: mode, Reset: o.resetState})
	if err != nil {
		return err
	}
	defer run.Close()
	mon := newMonitor(f.g.deps.Now, o.metricsFile)
	start := f.g.deps.Now()
	passCtx, cancel := context.WithTimeout(ctx, o.passTimeout)
	rep, passErr := run.Pass(passCtx, env, o.passOptions())
	cancel()
	if o.dryRun {
		if passErr != nil {
			return passErr
		}
		if err := f.g.printPass(rep, true, f.cfg().StarfaceToTeams.Enabled, f.cfg().OutOfOffice.Enabled()); err != nil {
			return err
		}
		if rep.Held != nil || rep.Throttled != nil {
			return reportErr(rep, f.g.deps.Now())
		}
		if o.detailedExitCode {
			return planErr(rep)
		}
		return nil
	}
	metricsErr := mon.record(f.svc, rep, passErr, start)
	if passErr != nil {
		if metricsErr != nil {
			f.log.Error("cannot write the metrics file", "file", o.metricsFile, "error", metricsCause(metricsErr))
		}
		return passErr
	}
	if !o.quiet {
		if err := f.g.printPass(rep, false, f.cfg().StarfaceToTeams.Enabled, f.cfg().OutOfOffice.Enabled()); err != nil {
			return err
		}
	}
	err = reportErr(rep, f.g.deps.Now())
	var mfe *metricsFileError
	if errors.As(metricsErr, &mfe) {
		// Exit 1 even when some users failed (3): teamsface-once.service takes 3 as success,
		// and a metrics file that stopped changing must not go unnoticed there.
		mfe.pass = err
		return mfe
	}
	return err
}

// passOptions are the pass's share of the flags.
func (o syncOptions) passOptions() pass.Options {
	return pass.Options{RefreshUsers: o.refreshUsers, AcceptDrop: o.acceptDrop, Elapsed: o.elapsed}
}

// reportErr is what a finished pass's report makes of the exit code: a held user match is 1,
// Graph's request to wait and failed users are 3.
func reportErr(rep *pass.Report, now time.Time) error {
	switch {
	case rep.Held != nil:
		return rep.Held
	case rep.Throttled != nil:
		return &partialError{throttledMessage(rep.Throttled, now)}
	}
	return failedErr(rep)
}

// throttledMessage says in one line until when Graph asked to wait and what that means for a
// pass: everyone kept.
func throttledMessage(te *graph.ThrottledError, now time.Time) string {
	return waitMessage(te, now, "nobody's DND changed, and no run calls Graph before then")
}

// waitMessage says until when Graph asked to wait (Retry-After), why, and then what.
func waitMessage(te *graph.ThrottledError, now time.Time, then string) string {
	until := te.Until.UTC()
	layout := "15:04:05 UTC"
	if until.Format(time.DateOnly) != now.UTC().Format(time.DateOnly) {
		layout = "2006-01-02 15:04:05 UTC"
	}
	why := "an earlier run's Retry-After"
	if te.Err != nil {
		why = "Retry-After " + te.Err.RetryAfter.String()
	}
	return fmt.Sprintf("Graph asked to wait until %s (%s): %s", until.Format(layout), why, then)
}

// planErr is a dry run's exit code with --detailed-exitcode: 3 when some users could not be
// planned (the plan is incomplete), 6 when it would write to a service, else nil (0). What
// counts is every write the run withheld, so a new kind of write counts without a list here.
func planErr(rep *pass.Report) error {
	if n := rep.FailedUsers(); n > 0 {
		return &partialError{fmt.Sprintf("%s could not be planned; the plan is incomplete", plural(n, "user", "users"))}
	}
	if rep.Withheld == nil {
		return nil
	}
	pending := rep.Withheld.Pending()
	var parts []string
	total := 0
	for _, s := range slices.Sorted(maps.Keys(pending)) {
		name := serviceNames[s]
		if name == "" {
			name = s
		}
		parts = append(parts, fmt.Sprintf("%d to %s", pending[s], name))
		total += pending[s]
	}
	if total == 0 {
		return nil
	}
	return &changesPendingError{fmt.Sprintf("changes pending: the plan makes %s (%s)",
		plural(total, "write", "writes"), strings.Join(parts, ", "))}
}

// serviceNames are the names admins know the services of pass.Withheld.Pending by.
var serviceNames = map[string]string{pass.ServiceStarface: "STARFACE", pass.ServiceTeams: "Teams"}

// failedErr is exit 3 when some users failed.
func failedErr(rep *pass.Report) error {
	n := rep.FailedUsers()
	if n == 0 {
		return nil
	}
	verb := "users failed; they are"
	if n == 1 {
		verb = "user failed; it is"
	}
	return &partialError{fmt.Sprintf("%d %s retried next pass", n, verb)}
}

// nextPause grows the pause after a failed pass: doubling from the interval up to maxPause, and
// never shorter than a Retry-After the service asked for.
func nextPause(prev, interval time.Duration, err error) time.Duration {
	p := max(prev*2, interval)
	p = min(p, max(maxPause, interval))
	var ge *graph.Error
	if errors.As(err, &ge) && ge.RetryAfter > p {
		p = ge.RetryAfter
	}
	return p
}

// maxPause is the longest pause after failed passes. A failed pass costs the services one or two
// requests, while phones may stay on DND until a pass succeeds: after an outage teamsface comes
// back within a minute of the services.
const maxPause = time.Minute

// printPass prints `sync once`'s summary (stderr) and changes (stdout).
func (g *globals) printPass(rep *pass.Report, dryRun, s2t, ooo bool) error {
	w := g.deps.Stdout
	if g.output == "json" {
		return printJSON(w, rep)
	}
	s := rep.Summary
	verb := ""
	if dryRun {
		verb = "dry run, nothing written: "
	}
	if rep.Throttled != nil {
		return nil // the exit message says it all, in one line
	}
	fmt.Fprintf(g.deps.Stderr, "%s%d in scope, %d matched, %d presence read, %d DND on, %d released, %d unchanged, %d kept, %d failed",
		verb, s.InScope, s.Matched, s.PresenceRead, s.SwitchedOn, s.Released, s.Unchanged, s.Kept, s.Failed)
	if s2t || s.SessionsSet+s.SessionsCleared > 0 {
		fmt.Fprintf(g.deps.Stderr, ", %s set, %d cleared", plural(s.SessionsSet, "Teams session", "Teams sessions"), s.SessionsCleared)
	}
	if ooo || s.RedirectsOn+s.RedirectsRestored > 0 {
		fmt.Fprintf(g.deps.Stderr, ", %s on, %d restored", plural(s.RedirectsOn, "redirect", "redirects"), s.RedirectsRestored)
	}
	fmt.Fprintln(g.deps.Stderr)
	if len(rep.Changes) == 0 {
		return nil
	}
	return printTable(w, []string{"LOGIN", "UPN", "AVAILABILITY", "ACTIVITY", "DND BEFORE", "ACTION", "REASON"}, changeRows(rep.Changes))
}

func changeRows(cs []pass.Change) [][]string {
	rows := make([][]string, len(cs))
	for i, c := range cs {
		reason := c.Reason
		if c.Error != "" {
			reason = c.Error
		}
		rows[i] = []string{c.Login, c.UPN, dash(c.Availability), dash(c.Activity), onOff(c.DNDBefore), c.Action, reason}
	}
	return rows
}

// printWatchPass prints one line per change (or one JSON object per pass) as passes happen.
func (g *globals) printWatchPass(w io.Writer, rep *pass.Report) error {
	if g.output == "json" {
		// One compact object per line, so that a log shipper can take each pass as it comes.
		return json.NewEncoder(w).Encode(rep)
	}
	ts := g.deps.Now().Format(time.TimeOnly)
	for _, c := range rep.Changes {
		reason := c.Reason
		if c.Error != "" {
			reason = c.Error
		}
		if _, err := fmt.Fprintf(w, "%s %-6s %-28s %-14s %s\n", ts, c.Login, c.UPN, c.Action, reason); err != nil {
			return err
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
