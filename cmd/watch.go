package cmd

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/mapping"
)

// watch is one `sync watch`: the loop, what it works on, and what it tells the admin and
// monitoring about itself.
type watch struct {
	f      *factory
	o      syncOptions
	run    *pass.Run
	env    pass.Env
	mon    *monitor
	onPass func(*pass.Report, error)

	// changed is OneHub's event stream: a call or a DND changed (nil without OneHub).
	changed <-chan struct{}
	health  *health
	// notice logs the start, the users in scope and the stop; nil when they are not wanted.
	notice *slog.Logger
	// listen is the address /metrics and /healthz are served on ("" = none).
	listen string
	// graphKey and starfaceKey identify what the running clients were built from (see reload).
	graphKey, starfaceKey string
	// scopeToSay: the next successful pass says how many users are in scope (after the start
	// and after a reload).
	scopeToSay bool

	// The metrics file could not be written since metricsFailedAt (zero: it could), in
	// metricsFailures passes; last logged at metricsLogged.
	metricsFailedAt, metricsLogged time.Time
	metricsFailures                int
}

// metricsReminder is how often sync watch repeats that the metrics file still cannot be written:
// once a pass would be 8,640 identical lines a day at 10 s.
const metricsReminder = 10 * time.Minute

// runSyncWatch is `sync watch`. Passes run on ctx; stop ends the loop after the pass in flight;
// o.reload (SIGHUP) re-reads the configuration between passes. onPass, when set, is called after
// each pass (demo and tests).
func runSyncWatch(ctx, stop context.Context, f *factory, o syncOptions, onPass func(*pass.Report, error)) (err error) {
	if o.passTimeout <= 0 {
		o.passTimeout = defaultPassTimeout
	}
	w := &watch{f: f, o: o, onPass: onPass, scopeToSay: true,
		mon:    newMonitor(f.g.deps.Now, o.metricsFile),
		health: newHealth(f.g.deps.Now, o.interval, o.passTimeout)}
	if o.announce {
		w.notice = f.g.noticeLogger(o.quiet)
	}
	if o.metricsListen != "" {
		// Before signing in: a port that is taken is found at once, not after a pass.
		srv, err := serveMonitoring(o.metricsListen, w.mon.exp, w.health, f.log)
		if err != nil {
			return err
		}
		defer srv.close()
		w.listen = srv.addr()
	}
	w.sayStart()
	defer func() { w.sayStop(stop, err) }()

	if w.env, err = f.liveEnv(ctx, o.interval); err != nil {
		return err
	}
	defer func() { w.f.svc.close() }() // the services of the last reload
	if w.run, err = f.open(pass.OpenOptions{Reset: o.resetState}); err != nil {
		return err
	}
	defer w.run.Close()
	w.follow()
	// What the clients were just built from, for a reload to compare with. A secret that
	// cannot be read a moment after it was only makes the first reload rebuild the client.
	w.graphKey, _ = graphClientKey(f.cfg())
	w.starfaceKey, _ = starfaceClientKey(f.cfg())
	return w.loop(ctx, stop)
}

// follow wakes the loop on OneHub's events, when OneHub is on.
func (w *watch) follow() {
	w.changed = nil
	if live := w.f.svc.live; live != nil {
		w.changed = live.Changed()
	}
}

func (w *watch) loop(ctx, stop context.Context) error {
	f := w.f
	pause := time.Duration(0)
	var last time.Time
	for {
		started := time.Now() // real time: the pause between passes is real even in the demo
		if now := f.g.deps.Now(); !last.IsZero() {
			w.o.elapsed = now.Sub(last)
		}
		last = f.g.deps.Now()
		o := w.o.passOptions()
		o.Follow = ctx
		passCtx, cancel := context.WithTimeout(ctx, w.o.passTimeout)
		rep, passErr := w.run.Pass(passCtx, w.env, o)
		cancel()
		w.noteMetricsFile(w.mon.record(f.svc, rep, passErr, last))
		w.o.refreshUsers, w.o.acceptDrop = false, false
		wait := w.o.interval - time.Since(started)
		switch {
		case passErr != nil && ExitCode(passErr) == ExitAuth:
			return passErr
		case passErr != nil && ctx.Err() != nil:
			// Stopped at once by a second signal: what the pass left open is in the journal.
			return nil
		case passErr != nil:
			w.health.failed(passErr, last)
			pause = nextPause(pause, w.o.interval, passErr)
			wait = pause
			f.log.Error("pass failed; retrying", "error", passErr, "retry_in", pause.String())
		case rep.Throttled != nil:
			// Not a failure: Graph asked for a pause, and gets exactly that.
			w.health.succeeded(last, rep.Throttled.Until)
			wait = rep.Throttled.Until.Sub(f.g.deps.Now())
			f.log.Warn("Graph asked to wait; everyone kept until then", "until", rep.Throttled.Until.UTC().Format(time.RFC3339))
		default:
			pause = 0
			w.health.succeeded(last, time.Time{})
			if err := w.afterPass(rep, f.g.deps.Now().Sub(last)); err != nil {
				return err
			}
		}
		// After the pass's lines are printed: what the callback prints (the demo's next step)
		// comes after the results it led to.
		if w.onPass != nil {
			w.onPass(rep, passErr)
		}
		if stop.Err() != nil || w.wait(ctx, stop, wait) {
			return nil
		}
	}
}

// afterPass reports a pass that finished: its changes on stdout, one info line if it changed
// something, the users in scope after a start or reload.
func (w *watch) afterPass(rep *pass.Report, took time.Duration) error {
	f := w.f
	if rep.Held != nil {
		f.log.Error("user match not refreshed", "error", rep.Held)
	}
	if !w.o.quiet {
		if err := f.g.printWatchPass(f.g.deps.Stdout, rep); err != nil {
			return err
		}
	}
	if s := rep.Summary; len(rep.Changes) > 0 {
		f.log.Info("pass changed something", "changes", len(rep.Changes), "dnd_on", s.SwitchedOn, "released", s.Released,
			"sessions_set", s.SessionsSet, "sessions_cleared", s.SessionsCleared, "failed", s.Failed,
			"duration", took.Round(time.Millisecond).String())
	}
	if w.scopeToSay && w.notice != nil {
		// The match's counts as attributes of their own: a struct would be logged with its Go
		// field names (Matched) in JSON, where every key is snake_case.
		m := mapping.Summarize(rep.Matches)
		w.notice.Info("users in scope", "in_scope", rep.Summary.InScope, "matched", m.Matched, "unmatched", m.Unmatched,
			"ambiguous", m.Ambiguous, "disabled", m.Disabled, "excluded", m.Excluded)
	}
	w.scopeToSay = false
	return nil
}

// wait waits d between passes and says whether the watch was stopped meanwhile. A SIGHUP
// re-reads the configuration and the wait goes on; a OneHub event ends it early (a STARFACE call
// started or ended, or a DND changed: show it in Teams now).
func (w *watch) wait(ctx, stop context.Context, d time.Duration) (stopped bool) {
	select {
	case <-w.o.reload: // came during the pass
		w.reload(ctx)
	default:
	}
	d = max(d, 0)
	deadline := time.Now().Add(d)
	timer := w.f.g.wait(d)
	for {
		select {
		case <-stop.Done():
			return true
		case <-timer:
			return false
		case <-w.changed:
			return false
		case <-w.o.reload:
			w.reload(ctx)
			timer = w.f.g.wait(max(time.Until(deadline), 0))
		}
	}
}

// noticeLogger logs what a run says about itself even at the default level (warn): sync
// watch's start, users in scope and stop, and that a signal is stopping a run. Admins expect
// these few lines in the journal, as node_exporter and restic's rest-server print their start
// line; they are info lines, so --log-level error hides them, and so does quiet (-q): nil then.
func (g *globals) noticeLogger(quiet bool) *slog.Logger {
	level := logLevels[g.logLevel]
	if quiet || level > slog.LevelWarn {
		return nil
	}
	return newLogger(g.deps.Stderr, g.logFormat, min(level, slog.LevelInfo))
}

func (w *watch) sayStart() {
	if w.notice == nil {
		return
	}
	ver, rev, _ := buildInfo()
	args := []any{"version", ver, "commit", rev, "config", w.f.cfg().File, "state_dir", w.f.dir,
		"interval", w.o.interval.String(), "pass_timeout", w.o.passTimeout.String()}
	if w.listen != "" {
		args = append(args, "metrics_listen", w.listen)
	}
	if w.o.metricsFile != "" {
		args = append(args, "metrics_file", w.o.metricsFile)
	}
	w.notice.Info("sync watch started", args...)
}

// sayStop says why the watch ended: a signal, an authentication failure, another error.
func (w *watch) sayStop(stop context.Context, err error) {
	if w.notice == nil {
		return
	}
	var sig *stopSignal
	reason := "stopped"
	switch {
	case err != nil && ExitCode(err) == ExitAuth:
		reason = "authentication failed; only a person can fix that"
	case err != nil:
		reason = "error"
	case errors.As(context.Cause(stop), &sig):
		reason = sig.Error()
	}
	args := []any{"reason", reason}
	if err != nil {
		args = append(args, "exit_code", ExitCode(err))
	}
	w.notice.Info("sync watch stopped", args...)
}

// noteMetricsFile logs a metrics file that cannot be written: when it starts, every
// metricsReminder while it lasts, and when it is written again. The passes go on: they still do
// their work, and the file going stale is what the monitoring built on it notices.
func (w *watch) noteMetricsFile(err error) {
	now := w.f.g.deps.Now()
	switch {
	case err == nil && !w.metricsFailedAt.IsZero():
		w.f.log.Warn("the metrics file is written again", "file", w.o.metricsFile, "failed_passes", w.metricsFailures,
			"since", w.metricsFailedAt.UTC().Format(time.RFC3339))
		w.metricsFailedAt, w.metricsFailures = time.Time{}, 0
	case err == nil:
	default:
		if w.metricsFailedAt.IsZero() {
			w.metricsFailedAt = now
		}
		w.metricsFailures++
		if w.metricsFailures == 1 || now.Sub(w.metricsLogged) >= metricsReminder {
			w.metricsLogged = now
			w.f.log.Error("cannot write the metrics file; the passes go on", "file", w.o.metricsFile,
				"error", metricsCause(err), "failed_passes", w.metricsFailures)
		}
	}
}

func (g *globals) wait(d time.Duration) <-chan time.Time {
	if g.after != nil {
		return g.after(d)
	}
	return time.After(d)
}
