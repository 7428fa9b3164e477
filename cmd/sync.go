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
	c.Flags().StringVar(&o.metricsFile, "metrics-file", "", "write Prometheus text-format metrics here after every pass (node_exporter textfile collector)")
	c.Flags().DurationVar(&o.passTimeout, "pass-timeout", defaultPassTimeout, "longest a pass may take; a first SIGINT/SIGTERM lets the pass in flight finish within it")
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

A first SIGINT or SIGTERM lets the pass finish (within --pass-timeout) and save its state; a
second one ends teamsface at once (the next run settles what it left open).`,
		Example: `  teamsface sync once
  teamsface sync once --dry-run -o json
  teamsface sync once --refresh-users --metrics-file /var/lib/node_exporter/teamsface.prom`,
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
person can fix that.`,
		Example: `  teamsface sync watch
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
			sd := g.watchSignals(c.Context())
			defer sd.release()
			return runSyncWatch(sd.hard, sd.stop, r, *o, nil)
		},
	}
	c.Flags().DurationVar(&o.interval, "interval", 10*time.Second, "time between the starts of two passes (1s or more)")
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
	rep, passErr := r.passAndSave(ctx, env, store, st, o)
	if passErr != nil {
		return passErr
	}
	if err := r.printPass(r.g.deps.Stdout, rep, false); err != nil {
		return err
	}
	return reportErr(rep, r.g.deps.Now())
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

// rememberGraphNotBefore keeps, across runs, a Retry-After this run did not wait out.
func (r *run) rememberGraphNotBefore(st *state.State) {
	if r.gc == nil {
		return
	}
	nb := r.gc.NotBefore()
	if !nb.After(r.g.deps.Now()) {
		nb = time.Time{}
	}
	st.SetGraphNotBefore(nb)
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
		if e.Status == "matched" && e.OneHubID != "" {
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
// state and the journal.
func (r *run) passAndSave(ctx context.Context, env pass.Env, store *state.Store, st *state.State, o syncOptions) (*pass.Report, error) {
	pending, err := store.Pending()
	if err != nil {
		return nil, err
	}
	// Counted from the end of the pass before, so that what happens between passes (OneHub's
	// events) is counted too.
	before := r.counted
	start := r.g.deps.Now()
	passCtx, cancel := context.WithTimeout(ctx, o.passTimeout)
	r.graphNotBefore(st)
	rep, passErr := pass.Run(passCtx, env, st, pass.Options{RefreshUsers: o.refreshUsers, AcceptDrop: o.acceptDrop,
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
			return nil, err
		}
	}
	if o.metricsFile != "" {
		last := start
		if passErr != nil {
			last = previousSuccess(o.metricsFile)
		}
		m := r.passMetrics(rep, last, start, before)
		if err := writeMetrics(o.metricsFile, m); err != nil {
			r.log.Error("cannot write the metrics file", "file", o.metricsFile, "error", err)
		}
	}
	return rep, passErr
}

// runSyncWatch is `sync watch`. Passes run on ctx; stop ends the loop after the pass in flight.
// onPass, when set, is called after each pass (demo and tests).
func runSyncWatch(ctx, stop context.Context, r *run, o syncOptions, onPass func(*pass.Report, error)) error {
	if o.passTimeout <= 0 {
		o.passTimeout = defaultPassTimeout
	}
	gc, sf, err := r.clients()
	if err != nil {
		return err
	}
	store, st, err := r.openState(o.resetState)
	if err != nil {
		return err
	}
	defer store.Close()
	defer r.close()
	env := r.passEnv(gc, sf, o)
	if err := r.withOneHub(ctx, &env, sf); err != nil {
		return err
	}
	env.Journal = store
	var changed <-chan struct{} // OneHub's event stream: a call or a DND changed
	if r.live != nil {
		changed = r.live.Changed()
	}
	pause := time.Duration(0)
	var last time.Time
	for {
		started := time.Now() // real time: the pause between passes is real even in the demo
		if now := r.g.deps.Now(); !last.IsZero() {
			o.elapsed = now.Sub(last)
		}
		last = r.g.deps.Now()
		rep, err := r.passAndSave(ctx, env, store, st, o)
		o.refreshUsers, o.acceptDrop = false, false
		passErr := err
		wait := o.interval - time.Since(started)
		switch {
		case err != nil && ExitCode(err) == ExitAuth:
			return err
		case err != nil && ctx.Err() != nil:
			// Stopped at once by a second signal: what the pass left open is in the journal.
			return nil
		case err != nil:
			pause = nextPause(pause, o.interval, err)
			wait = pause
			r.log.Error("pass failed; retrying", "error", err, "retry_in", pause.String())
			// Reload the state: a failed pass may have changed it in memory without saving.
			if st, err = store.Load(); err != nil {
				return err
			}
		case rep.Throttled != nil:
			// Not a failure: Graph asked for a pause, and gets exactly that.
			wait = rep.Throttled.Until.Sub(r.g.deps.Now())
			r.log.Warn("Graph asked to wait; everyone kept until then", "until", rep.Throttled.Until.UTC().Format(time.RFC3339))
		default:
			pause = 0
			if rep.Held != nil {
				r.log.Error("user match not refreshed", "error", rep.Held)
			}
			if err := r.printWatchPass(r.g.deps.Stdout, rep); err != nil {
				return err
			}
			if r.live != nil {
				r.live.Follow(ctx, oneHubUsers(st))
			}
		}
		// After the pass's lines are printed: what the callback prints (the demo's next step)
		// comes after the results it led to.
		if onPass != nil {
			onPass(rep, passErr)
		}
		if stop.Err() != nil {
			return nil
		}
		select {
		case <-stop.Done():
			return nil
		case <-r.g.wait(max(wait, 0)):
		case <-changed:
			// A STARFACE call started or ended, or a DND changed: show it in Teams now.
		}
	}
}

func (g *globals) wait(d time.Duration) <-chan time.Time {
	if g.after != nil {
		return g.after(d)
	}
	return time.After(d)
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
		fmt.Fprintf(r.g.deps.Stderr, ", %d Teams sessions set, %d cleared", s.SessionsSet, s.SessionsCleared)
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
