package cmd

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// exitInterrupted is the exit code after a second SIGINT/SIGTERM: 128 + SIGINT, as shells report
// a process ended by ^C.
const exitInterrupted = 130

// shutdown is restic's bounded shutdown: the first SIGINT or SIGTERM cancels stop, so no new
// pass starts while the one in flight finishes (within its deadline) and saves the state; a
// second one cancels hard and ends the process at once. What a pass ended at once leaves open is
// in the intent journal, which the next run settles.
type shutdown struct {
	stop    context.Context // done after the first signal; its cause is a *stopSignal
	hard    context.Context // done after the second
	release func()
	// reload receives one value per SIGHUP (several coalesce) when listening was asked for
	// (sync watch); nil otherwise.
	reload <-chan struct{}
}

// stopSignal is the cause of a shutdown's stop: which signal asked for it.
type stopSignal struct{ sig os.Signal }

func (s *stopSignal) Error() string { return "received " + signalName(s.sig) }

// signalName is the name admins know a signal by.
func signalName(s os.Signal) string {
	switch {
	case s == os.Interrupt:
		return "SIGINT"
	case s == syscall.SIGTERM:
		return "SIGTERM"
	case hangup != nil && s == hangup:
		return "SIGHUP"
	}
	return s.String()
}

// watchSignals starts listening for SIGINT and SIGTERM (Deps.Signals in tests). notice, when
// not nil, logs that a first signal was heard and what happens now (see noticeLogger): a stop
// asked for is no problem, so -q and --log-level error leave it out, and a cron job stopped by
// `timeout -s INT` every minute prints nothing. A second signal is always logged, as an error:
// the run ends at once, with exit 130.
func (g *globals) watchSignals(parent context.Context, notice *slog.Logger) *shutdown {
	return g.handleSignals(parent, false, notice)
}

// watchSignalsAndHangup is watchSignals plus SIGHUP, which asks sync watch to re-read its
// configuration. Where the system has no SIGHUP (Windows) it is watchSignals.
func (g *globals) watchSignalsAndHangup(parent context.Context, notice *slog.Logger) *shutdown {
	return g.handleSignals(parent, hangup != nil, notice)
}

func (g *globals) handleSignals(parent context.Context, withHangup bool, notice *slog.Logger) *shutdown {
	stop, cancelStop := context.WithCancelCause(parent)
	hard, cancelHard := context.WithCancel(parent)
	sigs, unsubscribe := g.signals(withHangup)
	var reload chan struct{}
	if withHangup {
		reload = make(chan struct{}, 1)
	}
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				if hangup != nil && s == hangup {
					// A SIGHUP is not a stop. Without a listener (sync once) it is not
					// even subscribed; one injected by a test is ignored the same way.
					if reload != nil {
						select {
						case reload <- struct{}{}:
						default: // one reload is pending already: it reads the newest file
						}
					}
					continue
				}
				n++
				if n == 1 {
					if notice != nil {
						notice.Info("stopping: finishing the pass in flight and saving the state; send the signal again to stop at once",
							"signal", signalName(s))
					}
					cancelStop(&stopSignal{s})
					continue
				}
				g.logger().Error("stopping at once on a second signal; the next run settles what this one left open",
					"signal", signalName(s))
				cancelHard()
				g.exit(exitInterrupted)
				return
			}
		}
	}()
	return &shutdown{stop: stop, hard: hard, reload: reload, release: func() {
		close(done)
		unsubscribe()
		cancelStop(nil)
		cancelHard()
	}}
}

func (g *globals) signals(withHangup bool) (<-chan os.Signal, func()) {
	if g.deps.Signals != nil {
		return g.deps.Signals, func() {}
	}
	c := make(chan os.Signal, 2)
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if withHangup {
		sigs = append(sigs, hangup)
	}
	signal.Notify(c, sigs...)
	return c, func() { signal.Stop(c) }
}

func (g *globals) exit(code int) {
	if g.deps.Exit != nil {
		g.deps.Exit(code)
		return
	}
	os.Exit(code)
}
