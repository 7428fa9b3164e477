package cmd

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/state"
)

// requestCounts are the clients' request counters at one moment.
type requestCounts struct {
	graph, throttled, starface int64
	// OneHub (STARFACE 10, experimental): gRPC calls, stream events, fallbacks to REST.
	onehubCalls, onehubEvents, onehubFallbacks int64
}

func (r *run) requestCounts() requestCounts {
	var c requestCounts
	if r.gc != nil {
		s := r.gc.Stats()
		c.graph, c.throttled = s.Requests, s.Throttled
	}
	if r.sf != nil {
		c.starface = r.sf.Stats().Requests
	}
	if r.onehub != nil {
		c.onehubCalls = r.onehub.Stats().Calls
	}
	if r.live != nil {
		s := r.live.Stats()
		c.onehubEvents, c.onehubFallbacks = s.Events, s.Fallbacks
	}
	return c
}

// metrics is one pass, as node_exporter's textfile collector reads it.
type metrics struct {
	ok          bool
	lastSuccess time.Time
	duration    time.Duration
	users       map[string]int // by match status
	changes     map[string]int // by kind
	failed      int
	requests    requestCounts
	onehub      bool // starface.onehub is on: its counts are written too
}

// passMetrics describes one pass that started at start. lastSuccess is when the last pass that
// finished started: this one, or for a failed one what the metrics file said before.
func (r *run) passMetrics(rep *pass.Report, lastSuccess, start time.Time, before requestCounts) metrics {
	after := r.requestCounts()
	r.counted = after
	m := metrics{
		ok:          rep != nil,
		lastSuccess: lastSuccess,
		duration:    r.g.deps.Now().Sub(start),
		users:       map[string]int{},
		changes:     map[string]int{},
		requests: requestCounts{
			graph:     after.graph - before.graph,
			throttled: after.throttled - before.throttled,
			starface:  after.starface - before.starface,

			onehubCalls: after.onehubCalls - before.onehubCalls, onehubEvents: after.onehubEvents - before.onehubEvents,
			onehubFallbacks: after.onehubFallbacks - before.onehubFallbacks,
		},
		onehub: r.onehub != nil,
	}
	for _, s := range []mapping.Status{mapping.StatusMatched, mapping.StatusUnmatched, mapping.StatusAmbiguous, mapping.StatusDisabled, mapping.StatusExcluded} {
		m.users[string(s)] = 0
	}
	if rep == nil {
		return m
	}
	for _, x := range rep.Matches {
		m.users[string(x.Status)]++
	}
	s := rep.Summary
	m.changes = map[string]int{"dnd_on": s.SwitchedOn, "released": s.Released, "unchanged": s.Unchanged,
		"kept": s.Kept, "session_set": s.SessionsSet, "session_cleared": s.SessionsCleared}
	m.failed = s.Failed
	return m
}

// render writes the Prometheus text exposition format.
func (m metrics) render() string {
	var b strings.Builder
	gauge := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	gauge("teamsface_pass_success", "1 if the last pass finished, 0 if it failed as a whole.")
	fmt.Fprintf(&b, "teamsface_pass_success %d\n", boolInt(m.ok))
	gauge("teamsface_last_success_timestamp_seconds", "Unix time of the last pass that finished.")
	if !m.lastSuccess.IsZero() {
		fmt.Fprintf(&b, "teamsface_last_success_timestamp_seconds %d\n", m.lastSuccess.Unix())
	} else {
		fmt.Fprintf(&b, "teamsface_last_success_timestamp_seconds 0\n")
	}
	gauge("teamsface_pass_duration_seconds", "Duration of the last pass.")
	fmt.Fprintf(&b, "teamsface_pass_duration_seconds %.3f\n", m.duration.Seconds())
	gauge("teamsface_users", "STARFACE users by match status.")
	for _, k := range sortedKeys(m.users) {
		fmt.Fprintf(&b, "teamsface_users{status=%q} %d\n", k, m.users[k])
	}
	gauge("teamsface_pass_changes", "What the last pass did, by kind.")
	for _, k := range sortedKeys(m.changes) {
		fmt.Fprintf(&b, "teamsface_pass_changes{kind=%q} %d\n", k, m.changes[k])
	}
	gauge("teamsface_pass_failed_users", "Users whose sync failed in the last pass.")
	fmt.Fprintf(&b, "teamsface_pass_failed_users %d\n", m.failed)
	gauge("teamsface_pass_graph_requests", "Microsoft Graph requests in the last pass.")
	fmt.Fprintf(&b, "teamsface_pass_graph_requests %d\n", m.requests.graph)
	gauge("teamsface_pass_graph_throttled", "Throttled Graph answers (429, 503, 504) in the last pass.")
	fmt.Fprintf(&b, "teamsface_pass_graph_throttled %d\n", m.requests.throttled)
	gauge("teamsface_pass_starface_requests", "STARFACE REST requests in the last pass.")
	fmt.Fprintf(&b, "teamsface_pass_starface_requests %d\n", m.requests.starface)
	if m.onehub {
		gauge("teamsface_pass_onehub_calls", "STARFACE OneHub gRPC calls in the last pass (and the event stream since it).")
		fmt.Fprintf(&b, "teamsface_pass_onehub_calls %d\n", m.requests.onehubCalls)
		gauge("teamsface_pass_onehub_events", "DND and call changes OneHub's event stream delivered since the pass before.")
		fmt.Fprintf(&b, "teamsface_pass_onehub_events %d\n", m.requests.onehubEvents)
		gauge("teamsface_pass_onehub_fallbacks", "Times OneHub failed and DND was read over REST instead, since the pass before.")
		fmt.Fprintf(&b, "teamsface_pass_onehub_fallbacks %d\n", m.requests.onehubFallbacks)
	}
	return b.String()
}

// previousSuccess reads the last success time from an earlier metrics file, so that a failed
// pass does not reset it (nothing in the state directory records it: it would change on every
// pass).
func previousSuccess(path string) time.Time {
	data, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "teamsface_last_success_timestamp_seconds "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
				return time.Unix(n, 0)
			}
		}
	}
	return time.Time{}
}

// writeMetrics replaces the file atomically, so the collector never reads half a file.
func writeMetrics(path string, m metrics) error {
	return state.WriteFileAtomic(path, []byte(m.render()), 0o644)
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
