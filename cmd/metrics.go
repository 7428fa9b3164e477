package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/internal/atomicfile"
	"github.com/teamsface/teamsface/mapping"
)

// requestCounts are the clients' request counters at one moment.
type requestCounts struct {
	graph, throttled, starface int64
	// OneHub (STARFACE 10, experimental): gRPC calls, stream events, fallbacks to REST.
	onehubCalls, onehubEvents, onehubFallbacks int64
}

func (s *services) requestCounts() requestCounts {
	var c requestCounts
	if s.graph != nil {
		st := s.graph.Stats()
		c.graph, c.throttled = st.Requests, st.Throttled
	}
	if s.sf != nil {
		c.starface = s.sf.Stats().Requests
	}
	if s.onehub != nil {
		c.onehubCalls = s.onehub.Stats().Calls
	}
	if s.live != nil {
		st := s.live.Stats()
		c.onehubEvents, c.onehubFallbacks = st.Events, st.Fallbacks
	}
	return c
}

// sub is what the clients did between two moments.
func (c requestCounts) sub(before requestCounts) requestCounts {
	return requestCounts{
		graph: c.graph - before.graph, throttled: c.throttled - before.throttled, starface: c.starface - before.starface,
		onehubCalls: c.onehubCalls - before.onehubCalls, onehubEvents: c.onehubEvents - before.onehubEvents,
		onehubFallbacks: c.onehubFallbacks - before.onehubFallbacks,
	}
}

// metrics is one pass, as node_exporter's textfile collector and /metrics show it.
type metrics struct {
	ok          bool
	lastSuccess time.Time
	lastFailure time.Time // zero: no pass of this run failed
	duration    time.Duration
	users       map[string]int // by match status
	changes     map[string]int // by kind
	failed      int
	requests    requestCounts
	onehub      bool // starface.onehub is on: its counts are exported too
}

// monitor is what sync once and sync watch tell monitoring after each pass: its metrics go to
// the exporter behind /metrics and, when there is one, to the metrics file.
type monitor struct {
	exp  *exporter
	file string
	now  func() time.Time
	// lastSuccess is when the last pass that finished started; lastFailure when the last pass
	// that failed as a whole started.
	lastSuccess, lastFailure time.Time
	// counted is what the clients had done when the last pass's metrics were taken, so that
	// what happens between passes (OneHub's events) is counted with the next one.
	counted requestCounts
}

func newMonitor(now func() time.Time, file string) *monitor {
	return &monitor{exp: newExporter(), file: file, now: now}
}

// recount starts counting anew from what svc's clients have done: after a reload built new
// clients, which count from zero.
func (m *monitor) recount(svc *services) { m.counted = svc.requestCounts() }

// record takes the metrics of a pass that started at start and wrote rep (nil when it failed
// as a whole), and writes the metrics file; its error is a file that could not be written.
func (m *monitor) record(svc *services, rep *pass.Report, passErr error, start time.Time) error {
	switch {
	case passErr == nil:
		m.lastSuccess = start
	case m.lastSuccess.IsZero() && m.file != "":
		// The first pass of this run failed: the last success is what the file said before.
		m.lastSuccess = previousSuccess(m.file)
	}
	if passErr != nil {
		rep = nil // a pass that failed as a whole reports no counts
		m.lastFailure = start
	}
	m.exp.pass.set(m.metricsOf(svc, rep, start))
	if m.file == "" {
		return nil
	}
	if err := m.exp.writeFile(m.file); err != nil {
		return &metricsFileError{file: m.file, err: err}
	}
	return nil
}

// metricsOf describes one pass that started at start.
func (m *monitor) metricsOf(svc *services, rep *pass.Report, start time.Time) metrics {
	after := svc.requestCounts()
	before := m.counted
	m.counted = after
	mt := metrics{
		ok:          rep != nil,
		lastSuccess: m.lastSuccess,
		lastFailure: m.lastFailure,
		duration:    m.now().Sub(start),
		users:       map[string]int{},
		changes:     map[string]int{},
		requests:    after.sub(before),
		onehub:      svc.onehub != nil,
	}
	for _, s := range []mapping.Status{mapping.StatusMatched, mapping.StatusUnmatched, mapping.StatusAmbiguous, mapping.StatusDisabled, mapping.StatusExcluded} {
		mt.users[string(s)] = 0
	}
	if rep == nil {
		return mt
	}
	for _, x := range rep.Matches {
		mt.users[string(x.Status)]++
	}
	s := rep.Summary
	mt.changes = map[string]int{"dnd_on": s.SwitchedOn, "released": s.Released, "unchanged": s.Unchanged,
		"kept": s.Kept, "session_set": s.SessionsSet, "session_cleared": s.SessionsCleared,
		"redirect_on": s.RedirectsOn, "redirect_restored": s.RedirectsRestored, "redirect_failed": s.RedirectsFailed}
	mt.failed = s.Failed
	return mt
}

// The metrics teamsface exports. Their names and help texts are what the README's Monitoring
// section lists; they are gauges describing the last pass, as a textfile can only hold those.
var (
	descPassSuccess  = newDesc("teamsface_pass_success", "1 if the last pass finished, 0 if it failed as a whole.")
	descLastSuccess  = newDesc("teamsface_last_success_timestamp_seconds", "Unix time of the last pass that finished.")
	descLastFailure  = newDesc("teamsface_last_failure_timestamp_seconds", "Unix time of the last pass of this run that failed as a whole (0: none).")
	descPassDuration = newDesc("teamsface_pass_duration_seconds", "Duration of the last pass.")
	descUsers        = newDesc("teamsface_users", "STARFACE users by match status.", "status")
	descChanges      = newDesc("teamsface_pass_changes", "What the last pass did, by kind.", "kind")
	descFailed       = newDesc("teamsface_pass_failed_users", "Users whose sync failed in the last pass.")
	descGraph        = newDesc("teamsface_pass_graph_requests", "Microsoft Graph requests in the last pass.")
	descThrottled    = newDesc("teamsface_pass_graph_throttled", "Throttled Graph answers (429, 503, 504) in the last pass.")
	descStarface     = newDesc("teamsface_pass_starface_requests", "STARFACE REST requests in the last pass.")
	descOneHubCalls  = newDesc("teamsface_pass_onehub_calls", "STARFACE OneHub gRPC calls in the last pass (and the event stream since it).")
	descOneHubEvents = newDesc("teamsface_pass_onehub_events", "DND and call changes OneHub's event stream delivered since the pass before.")
	descOneHubFalls  = newDesc("teamsface_pass_onehub_fallbacks", "Times OneHub failed and DND was read over REST instead, since the pass before.")
	descBuildInfo    = newDesc("teamsface_build_info", "Always 1; the labels say which teamsface this is.", "version", "commit", "goversion")
)

func newDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// passCollector holds the last pass's metrics for the Prometheus client library. The metrics
// file and --metrics-listen's /metrics both gather it, so they always show the same values.
type passCollector struct {
	mu   sync.Mutex
	m    metrics
	have bool // a pass has ended: before that only the build is known
}

// set records a pass's metrics.
func (c *passCollector) set(m metrics) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m, c.have = m, true
}

func (c *passCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPassSuccess, descLastSuccess, descLastFailure, descPassDuration, descUsers, descChanges,
		descFailed, descGraph, descThrottled, descStarface, descOneHubCalls, descOneHubEvents, descOneHubFalls, descBuildInfo} {
		ch <- d
	}
}

func (c *passCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	ver, rev, _ := buildInfo()
	gauge(descBuildInfo, 1, ver, rev, runtime.Version())
	c.mu.Lock()
	m, have := c.m, c.have
	c.mu.Unlock()
	if !have {
		return
	}
	gauge(descPassSuccess, float64(boolInt(m.ok)))
	last := 0.0
	if !m.lastSuccess.IsZero() {
		last = float64(m.lastSuccess.Unix())
	}
	gauge(descLastSuccess, last)
	failure := 0.0
	if !m.lastFailure.IsZero() {
		failure = float64(m.lastFailure.Unix())
	}
	gauge(descLastFailure, failure)
	gauge(descPassDuration, m.duration.Seconds())
	for k, v := range m.users {
		gauge(descUsers, float64(v), k)
	}
	for k, v := range m.changes {
		gauge(descChanges, float64(v), k)
	}
	gauge(descFailed, float64(m.failed))
	gauge(descGraph, float64(m.requests.graph))
	gauge(descThrottled, float64(m.requests.throttled))
	gauge(descStarface, float64(m.requests.starface))
	if m.onehub {
		gauge(descOneHubCalls, float64(m.requests.onehubCalls))
		gauge(descOneHubEvents, float64(m.requests.onehubEvents))
		gauge(descOneHubFalls, float64(m.requests.onehubFallbacks))
	}
}

// exporter is the run's metrics: a registry of its own (never the library's global one, which
// would mix in whatever else registers there), fed after every pass.
type exporter struct {
	pass passCollector
	reg  *prometheus.Registry
}

func newExporter() *exporter {
	e := &exporter{reg: prometheus.NewPedanticRegistry()}
	e.reg.MustRegister(&e.pass)
	return e
}

// text renders the metrics in the Prometheus text exposition format, sorted by name.
func (e *exporter) text() ([]byte, error) {
	mfs, err := e.reg.Gather()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// writeFile replaces path atomically, so the textfile collector never reads half a file.
func (e *exporter) writeFile(path string) error {
	data, err := e.text()
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o644)
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
			// The client library writes 1.7954244e+09, the hand-written files of earlier
			// versions 1795424400: both are floats.
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f > 0 {
				return time.Unix(int64(f), 0)
			}
		}
	}
	return time.Time{}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// metricsFileError is a metrics file that could not be written after a pass that did its work
// and saved it: exit 1, since the monitoring built on the file no longer sees anything.
type metricsFileError struct {
	file string
	err  error
	pass error // what the pass itself ended with (some users failed, ...), or nil
}

func (e *metricsFileError) Error() string {
	done := "the pass is done and its state saved"
	if e.pass != nil {
		done += " (" + e.pass.Error() + ")"
	}
	return fmt.Sprintf("%s, but the metrics file %s cannot be written: %v", done, e.file, metricsCause(e.err))
}

func (e *metricsFileError) Unwrap() error { return e.err }

// metricsCause is why a metrics file could not be written, without the temporary file's random
// name: "no such file or directory", "permission denied".
func metricsCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
