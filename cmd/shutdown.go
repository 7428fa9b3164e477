package cmd

import (
	"context"
	"fmt"
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

// watchSignals starts listening for SIGINT and SIGTERM (Deps.Signals in tests).
func (g *globals) watchSignals(parent context.Context) *shutdown {
	return g.handleSignals(parent, false)
}

// watchSignalsAndHangup is watchSignals plus SIGHUP, which asks sync watch to re-read its
// configuration. Where the system has no SIGHUP (Windows) it is watchSignals.
func (g *globals) watchSignalsAndHangup(parent context.Context) *shutdown {
	return g.handleSignals(parent, hangup != nil)
}

func (g *globals) handleSignals(parent context.Context, withHangup bool) *shutdown {
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
					fmt.Fprintf(g.deps.Stderr, "teamsface: %v: finishing the pass in flight and saving the state; send it again to stop at once\n", s)
					cancelStop(&stopSignal{s})
					continue
				}
				fmt.Fprintf(g.deps.Stderr, "teamsface: %v again: stopping at once; the next run settles what this one left open\n", s)
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
