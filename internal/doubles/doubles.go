// Package doubles holds what the test doubles share: the log of the calls a double got, the
// failures and latency injected into it, and, for the two HTTP doubles (graphtest and
// starfacetest), the handling of a request around the service that uses both. The doubles
// embed these types, so that AddFault, ClearFaults, Requests, ResetRequests, CountRequests and
// MaxInFlight are one piece of code with the same meaning in every double.
//
// It is a normal package, not a test file, because the doubles are normal packages too: the
// tests of several packages and the demo import them.
package doubles

import "sync"

// Log is the record of the calls a double got, oldest first. It is safe for concurrent use; the
// zero value is an empty log.
type Log[T any] struct {
	mu      sync.Mutex
	entries []T
	resets  int // counts Reset, so that an update of an entry from before a Reset is dropped
}

// Add appends e. update changes the entry afterwards (an answer that comes after the call was
// logged, so that a test sees a call while it is still held by a delay), unless the log was
// reset in between.
func (l *Log[T]) Add(e T) (update func(change func(*T))) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
	i, resets := len(l.entries)-1, l.resets
	return func(change func(*T)) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if resets == l.resets {
			change(&l.entries[i])
		}
	}
}

// All returns a copy of the log.
func (l *Log[T]) All() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.entries...)
}

// Reset empties the log.
func (l *Log[T]) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = nil
	l.resets++
}

// Count counts the entries match accepts.
func (l *Log[T]) Count(match func(T) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.entries {
		if match(e) {
			n++
		}
	}
	return n
}

// Faults is the list of failures and latencies injected into a double. Embedded, it gives the
// double AddFault and ClearFaults. It is safe for concurrent use; the zero value holds none.
type Faults[F any] struct {
	mu   sync.Mutex
	list []*injected[F]
}

type injected[F any] struct {
	f    F
	used int
}

// AddFault registers an injected failure or latency. Faults apply in the order they were added.
func (fs *Faults[F]) AddFault(f F) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = append(fs.list, &injected[F]{f: f})
}

// ClearFaults removes every injected failure.
func (fs *Faults[F]) ClearFaults() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = nil
}

// Take returns the first fault of fs that applies to a call and has uses left (times says how
// many uses a fault has; 0: for ever), and counts the use. It is a function, not a method, so
// that it does not become part of the doubles' API through embedding.
func Take[F any](fs *Faults[F], applies func(F) bool, times func(F) int) (F, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, in := range fs.list {
		if n := times(in.f); (n == 0 || in.used < n) && applies(in.f) {
			in.used++
			return in.f, true
		}
	}
	var none F
	return none, false
}
