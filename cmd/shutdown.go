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
	stop    context.Context // done after the first signal
	hard    context.Context // done after the second
	release func()
}

// watchSignals starts listening for SIGINT and SIGTERM (Deps.Signals in tests).
func (g *globals) watchSignals(parent context.Context) *shutdown {
	stop, cancelStop := context.WithCancel(parent)
	hard, cancelHard := context.WithCancel(parent)
	sigs, unsubscribe := g.signals()
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				n++
				if n == 1 {
					fmt.Fprintf(g.deps.Stderr, "teamsface: %v: finishing the pass in flight and saving the state; send it again to stop at once\n", s)
					cancelStop()
					continue
				}
				fmt.Fprintf(g.deps.Stderr, "teamsface: %v again: stopping at once; the next run settles what this one left open\n", s)
				cancelHard()
				g.exit(exitInterrupted)
				return
			}
		}
	}()
	return &shutdown{stop: stop, hard: hard, release: func() {
		close(done)
		unsubscribe()
		cancelStop()
		cancelHard()
	}}
}

func (g *globals) signals() (<-chan os.Signal, func()) {
	if g.deps.Signals != nil {
		return g.deps.Signals, func() {}
	}
	c := make(chan os.Signal, 2)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	return c, func() { signal.Stop(c) }
}

func (g *globals) exit(code int) {
	if g.deps.Exit != nil {
		g.deps.Exit(code)
		return
	}
	os.Exit(code)
}
