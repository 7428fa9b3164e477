package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

// defaultPassTimeout bounds one pass. It is below systemd's TimeoutStopSec=2min in the units
// the README shows, so that a pass asked to stop always finishes and saves before systemd
// kills it.
const defaultPassTimeout = 90 * time.Second

type syncOptions struct {
	dryRun       bool
	refreshUsers bool
	acceptDrop   bool
	resetState   bool
	metricsFile  string
	interval     time.Duration
	passTimeout  time.Duration
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
phone should be on Do-Not-Disturb, and write only what changed. "sync once" runs one pass (for
cron or a systemd timer); "sync watch" runs passes in a loop.`,
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
		Long: `Run one pass: read Teams presence, decide, switch STARFACE DND where the decision changed,
record it in the state directory. Exit 0 when done (also when nothing changed), 3 when some
users failed (they are retried next pass). --dry-run reads everything, prints the plan and changes
nothing on either service nor in the state file.

-q prints nothing when the pass succeeds (for cron, which mails any output): no summary and no
table of changes; warnings, errors and the exit code stay. A --metrics-file that cannot be
written is exit 1 after the pass, whose work is done and saved all the same.

A first SIGINT or SIGTERM lets the pass finish (within --pass-timeout) and save its state; a
second one ends teamsface at once (the next run settles what it left open).`,
		Example: `  teamsface sync once
  teamsface sync once --dry-run -o json
  teamsface sync once -q --metrics-file /var/lib/node_exporter/teamsface.prom`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			r, err := g.newRun("")
			if err != nil {
				return err
			}
			sd := g.watchSignals(c.Context())
			defer sd.release()
			return runSyncOnce(sd.hard, r, *o)
		},
	}
	c.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the plan; write nothing to STARFACE, Teams or the state file")
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
5 minutes, honouring Retry-After); an authentication failure ends it with exit 4, since only a
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
			r, err := g.newRun("")
			if err != nil {
				return err
			}
			sd := g.watchSignalsAndHangup(c.Context())
			defer sd.release()
			o.announce, o.reload = true, sd.reload
			return runSyncWatch(sd.hard, sd.stop, r, *o, nil)
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
	return nil
}

// runSyncOnce is `sync once`.
func runSyncOnce(ctx context.Context, r *run, o syncOptions) error {
	if o.passTimeout <= 0 {
		o.passTimeout = defaultPassTimeout
	}
	gc, sf, err := r.clients()
	if err != nil {
		return err
	}
	defer r.close()
	env := r.passEnv(gc, sf, o)
	if err := r.withOneHub(ctx, &env, sf); err != nil {
		return err
	}
	if o.dryRun {
		return r.dryRun(ctx, env, o)
	}
	store, st, err := r.openState(o.resetState)
	if err != nil {
		return err
	}
	defer store.Close()
	env.Journal = store
	rep, passErr, metricsErr := r.passAndSave(ctx, env, store, st, o)
	if passErr != nil {
		if metricsErr != nil {
			r.log.Error("cannot write the metrics file", "file", o.metricsFile, "error", metricsCause(metricsErr))
		}
		return passErr
	}
	if !o.quiet {
		if err := r.printPass(r.g.deps.Stdout, rep, false); err != nil {
			return err
		}
	}
	err = reportErr(rep, r.g.deps.Now())
	var mfe *metricsFileError
	if errors.As(metricsErr, &mfe) {
		// Exit 1 even when some users failed (3): teamsface-once.service takes 3 as success,
		// and a metrics file that stopped changing must not go unnoticed there.
		mfe.pass = err
		return mfe
	}
	return err
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

// throttledMessage says in one line until when Graph asked to wait and what that means.
func throttledMessage(te *graph.ThrottledError, now time.Time) string {
	until := te.Until.UTC()
	layout := "15:04:05 UTC"
	if until.Format(time.DateOnly) != now.UTC().Format(time.DateOnly) {
		layout = "2006-01-02 15:04:05 UTC"
	}
	why := "an earlier run's Retry-After"
	if te.Err != nil {
		why = "Retry-After " + te.Err.RetryAfter.String()
	}
	return fmt.Sprintf("Graph asked to wait until %s (%s): nobody's DND changed, and no run calls Graph before then",
		until.Format(layout), why)
}

// graphNotBefore tells the Graph client until when an earlier run was asked not to call Graph.
func (r *run) graphNotBefore(st *state.State) {
	if r.gc != nil && st.GraphNotBefore().After(r.g.deps.Now()) {
		r.gc.SetNotBefore(st.GraphNotBefore())
	}
}

// rememberGraphNotBefore keeps, across runs, a Retry-After this run did not wait out; it
// reports whether that changed the state.
func (r *run) rememberGraphNotBefore(st *state.State) bool {
	if r.gc == nil {
		return false
	}
	nb := r.gc.NotBefore()
	if !nb.After(r.g.deps.Now()) {
		nb = time.Time{}
	}
	if nb.Equal(st.GraphNotBefore()) {
		return false
	}
	st.SetGraphNotBefore(nb)
	return true
}

// dryRun is `sync once --dry-run`: the same pass, with the writes withheld (pass.DryRun) and a
// state that is read without the lock and never saved.
func (r *run) dryRun(ctx context.Context, env pass.Env, o syncOptions) error {
	st, pending, err := state.ReadOnly(r.stateDir)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		r.log.Warn("an earlier run's writes are not settled yet; a real pass settles them first", "count", len(pending))
	}
	env, _ = pass.DryRun(env)
	r.graphNotBefore(st)
	ctx, cancel := context.WithTimeout(ctx, o.passTimeout)
	defer cancel()
	rep, err := pass.Run(ctx, env, st, pass.Options{RefreshUsers: o.refreshUsers, AcceptDrop: o.acceptDrop})
	if err != nil {
		return err
	}
	r.noteReadLoad(rep)
	r.noteOneHub(rep)
	if err := r.printPass(r.g.deps.Stdout, rep, true); err != nil {
		return err
	}
	if rep.Held != nil || rep.Throttled != nil {
		return reportErr(rep, r.g.deps.Now())
	}
	return nil
}

// noteReadLoad says once per run when reading every user's DND once per poll takes more
// phone-config reads than starface_to_teams.read_rate allows: poll wins.
func (r *run) noteReadLoad(rep *pass.Report) {
	l := rep.Reads
	if r.readLoadNoted || !l.PollWins() {
		return
	}
	r.readLoadNoted = true
	poll := r.cfg.StarfaceToTeams.Poll
	r.log.Warn(fmt.Sprintf("starface_to_teams: reading each of %s once per poll (%s) takes %.0f phone-config reads/s, more than read_rate %d/s; "+
		"poll wins, so the PBX gets %.0f reads/s (raise poll to lower it)",
		pass.Users(l.Users), poll, float64(l.Users)/poll.Seconds(), r.cfg.StarfaceToTeams.ReadRate, float64(l.Users)/poll.Seconds()))
}

// noteOnAtStart says once, on the first pass with an empty state directory, that the DNDs it
// finds on count as set by hand: a DND another teamsface (another state directory) switched on
// would otherwise stay on for ever without anyone noticing.
func (r *run) noteOnAtStart(rep *pass.Report) {
	if len(rep.OnAtStart) == 0 {
		return
	}
	shown := rep.OnAtStart
	if len(shown) > 10 {
		shown = append(slices.Clone(shown[:10]), "…")
	}
	r.log.Warn(fmt.Sprintf("the state directory %s held nothing yet, and %s already had DND on (%s): teamsface counts them as set "+
		"by hand and never switches them off. If an earlier teamsface switched them on with another state directory, "+
		"run `teamsface release` with that one, or switch them off at the phones", r.stateDir,
		plural(len(rep.OnAtStart), "matched user", "matched users"), strings.Join(shown, ", ")))
}

// noteOneHub logs once when OneHub fails and the passes read over REST instead, and once when
// it is back.
func (r *run) noteOneHub(rep *pass.Report) {
	switch {
	case r.live == nil || !r.cfg.StarfaceToTeams.Enabled:
	case rep.PhonesFailed != nil && !r.oneHubDown:
		r.oneHubDown = true
		r.log.Warn("STARFACE OneHub unavailable; reading DND over REST until it is back", "error", rep.PhonesFailed)
	case rep.PhonesFailed == nil && r.oneHubDown:
		r.oneHubDown = false
		r.log.Info("STARFACE OneHub back; reading DND and calls from it again")
	}
}

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

func (r *run) openStore(reset bool) (*state.Store, error) {
	store, err := state.Open(r.stateDir, r.g.lockTimeout)
	if err != nil {
		return nil, err
	}
	if reset {
		if err := store.Reset(); err != nil {
			store.Close()
			return nil, err
		}
		r.log.Warn("state reset: teamsface no longer knows which DND it switched on; check those phones by hand")
	}
	return store, nil
}

// openState takes the state lock and loads the state; the caller closes the store.
func (r *run) openState(reset bool) (*state.Store, *state.State, error) {
	store, err := r.openStore(reset)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Load()
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, st, nil
}

// withOneHub gives the pass STARFACE 10's OneHub as its source of DND and call states when
// starface.onehub is on.
func (r *run) withOneHub(ctx context.Context, env *pass.Env, sf *starface.Client) error {
	src, err := r.oneHub(ctx, sf)
	if err != nil || src == nil {
		return err
	}
	env.Phones = src
	return nil
}

// oneHubUsers are the matched users whose OneHub id the cached match knows: sync watch follows
// their event stream.
func oneHubUsers(st *state.State) []pass.PhoneUser {
	c := st.Match()
	if c == nil {
		return nil
	}
	var out []pass.PhoneUser
	for _, e := range c.Entries {
		if e.Status == string(mapping.StatusMatched) && e.OneHubID != "" {
			out = append(out, pass.PhoneUser{StarfaceID: e.StarfaceID, OneHubID: e.OneHubID})
		}
	}
	return out
}

func (r *run) passEnv(gc pass.Graph, sf pass.Starface, o syncOptions) pass.Env {
	return pass.Env{Config: r.cfg, Graph: gc, Starface: sf, Log: r.log, Now: r.g.deps.Now,
		Interval: o.interval, Progress: r.progress()}
}

// passAndSave runs one pass on st, within the pass deadline, and saves it together with the
// intents whose outcome is still open, so that no STARFACE write is ever unknown to both the
// state and the journal. metricsErr is a metrics file that could not be written after it.
func (r *run) passAndSave(ctx context.Context, env pass.Env, store *state.Store, st *state.State, o syncOptions) (rep *pass.Report, passErr, metricsErr error) {
	pending, err := store.Pending()
	if err != nil {
		return nil, err, nil
	}
	// Counted from the end of the pass before, so that what happens between passes (OneHub's
	// events) is counted too.
	before := r.counted
	start := r.g.deps.Now()
	passCtx, cancel := context.WithTimeout(ctx, o.passTimeout)
	r.graphNotBefore(st)
	rep, passErr = pass.Run(passCtx, env, st, pass.Options{RefreshUsers: o.refreshUsers, AcceptDrop: o.acceptDrop,
		Pending: pending, Elapsed: o.elapsed})
	cancel()
	if passErr == nil {
		r.noteReadLoad(rep)
		r.noteOneHub(rep)
		r.noteOnAtStart(rep)
		r.rememberGraphNotBefore(st)
	}
	if passErr == nil {
		if err := store.Save(st, rep.Leftover...); err != nil {
			// Not saved is failed, for the metrics too.
			rep, passErr = nil, err
		}
	} else if r.rememberGraphNotBefore(st) {
		// A pass that failed for another reason while Graph asked to wait (say STARFACE's user
		// list failed while Entra's was throttled) still keeps that time for the runs after it
		// (rule 5). What the pass settled of the journal stays open in it and is settled again.
		if err := store.Save(st, pending...); err != nil {
			r.log.Error("cannot keep Graph's Retry-After", "error", err)
		}
	}
	return rep, passErr, r.exportPass(rep, passErr, start, before, o.metricsFile)
}

// exportPass gives the pass's metrics to the exporter (--metrics-listen's /metrics) and writes
// them to the metrics file when there is one.
func (r *run) exportPass(rep *pass.Report, passErr error, start time.Time, before requestCounts, file string) error {
	switch {
	case passErr == nil:
		r.lastSuccess = start
	case r.lastSuccess.IsZero() && file != "":
		// The first pass of this run failed: the last success is what the file said before.
		r.lastSuccess = previousSuccess(file)
	}
	if passErr != nil {
		rep = nil // a pass that failed as a whole reports no counts
	}
	e := r.exporter()
	e.pass.set(r.passMetrics(rep, r.lastSuccess, start, before))
	if file == "" {
		return nil
	}
	if err := e.writeFile(file); err != nil {
		return &metricsFileError{file: file, err: err}
	}
	return nil
}

// nextPause grows the pause after a failed pass: doubling from the interval up to 5 minutes, and
// never shorter than a Retry-After the service asked for.
func nextPause(prev, interval time.Duration, err error) time.Duration {
	p := max(prev*2, interval)
	p = min(p, 5*time.Minute)
	var ge *graph.Error
	if errors.As(err, &ge) && ge.RetryAfter > p {
		p = ge.RetryAfter
	}
	return p
}

// printPass prints `sync once`'s summary and changes.
func (r *run) printPass(w io.Writer, rep *pass.Report, dryRun bool) error {
	if r.g.output == "json" {
		return printJSON(w, rep)
	}
	s := rep.Summary
	verb := ""
	if dryRun {
		verb = "dry run, nothing written: "
	}
	if rep.Throttled != nil && r.g.output != "json" {
		return nil // the exit message says it all, in one line
	}
	fmt.Fprintf(r.g.deps.Stderr, "%s%d in scope, %d matched, %d presence read, %d DND on, %d released, %d unchanged, %d kept, %d failed",
		verb, s.InScope, s.Matched, s.PresenceRead, s.SwitchedOn, s.Released, s.Unchanged, s.Kept, s.Failed)
	if r.cfg.StarfaceToTeams.Enabled || s.SessionsSet+s.SessionsCleared > 0 {
		fmt.Fprintf(r.g.deps.Stderr, ", %s set, %d cleared", plural(s.SessionsSet, "Teams session", "Teams sessions"), s.SessionsCleared)
	}
	fmt.Fprintln(r.g.deps.Stderr)
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
func (r *run) printWatchPass(w io.Writer, rep *pass.Report) error {
	if r.g.output == "json" {
		// One compact object per line, so that a log shipper can take each pass as it comes.
		return json.NewEncoder(w).Encode(rep)
	}
	ts := r.g.deps.Now().Format(time.TimeOnly)
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
