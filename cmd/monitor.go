package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// health is what /healthz answers: whether sync watch still finishes passes.
//
// It is healthy while the last pass that finished started less than limit = 3 × interval +
// pass timeout ago: one pass may run its full timeout and two more may fail before it says so
// (the pause after failed passes grows from the interval), and a stuck process or one failing
// for minutes is found by a liveness probe or an alert. Before the first pass has finished it
// is healthy for limit after the start (the first pass signs in and matches users, and may
// take its whole timeout). A Retry-After from Graph is a wait asked for, not a failure: the
// limit then runs from when Graph takes requests again.
type health struct {
	mu      sync.Mutex
	now     func() time.Time
	limit   time.Duration
	started time.Time
	// lastSuccess is when the last pass that finished started; waitUntil when Graph takes
	// requests again after a Retry-After (zero: none).
	lastSuccess, waitUntil time.Time
	lastErr                string    // why the last pass failed, "" when it did not
	lastErrAt              time.Time // when that pass started
}

// healthLimit is how old the last successful pass may be before /healthz fails.
func healthLimit(interval, passTimeout time.Duration) time.Duration {
	return 3*interval + passTimeout
}

func newHealth(now func() time.Time, interval, passTimeout time.Duration) *health {
	return &health{now: now, limit: healthLimit(interval, passTimeout), started: now()}
}

// succeeded records a pass that finished, started at start; waitUntil is a Retry-After's end.
func (h *health) succeeded(start, waitUntil time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastSuccess, h.waitUntil, h.lastErr = start, waitUntil, ""
}

// failed records a pass that failed as a whole, started at start.
func (h *health) failed(err error, start time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastErr, h.lastErrAt = shortReason(err.Error()), start
}

// check says whether sync watch is healthy, and why in one line.
func (h *health) check() (ok bool, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	ago := func(t time.Time) string { return now.Sub(t).Round(time.Second).String() + " ago" }
	lastErr := ""
	if h.lastErr != "" {
		lastErr = fmt.Sprintf("; the last pass failed (%s, %s): %s", h.lastErrAt.UTC().Format(time.RFC3339), ago(h.lastErrAt), h.lastErr)
	}
	switch {
	case h.lastSuccess.IsZero() && now.Sub(h.started) <= h.limit:
		return true, fmt.Sprintf("starting: no pass has finished yet (started %s, allowed %s)%s", ago(h.started), h.limit, lastErr)
	case h.lastSuccess.IsZero():
		return false, fmt.Sprintf("no pass has finished since the start %s (allowed %s)%s", ago(h.started), h.limit, lastErr)
	case now.Before(h.waitUntil.Add(h.limit)) && now.Sub(h.lastSuccess) > h.limit:
		return true, fmt.Sprintf("ok: waiting until %s, as Graph asked (Retry-After); last successful pass %s",
			h.waitUntil.UTC().Format(time.RFC3339), ago(h.lastSuccess))
	case now.Sub(h.lastSuccess) <= h.limit:
		return true, fmt.Sprintf("ok: last successful pass %s%s", ago(h.lastSuccess), lastErr)
	}
	return false, fmt.Sprintf("last successful pass %s, longer than %s (3 × interval + pass timeout)%s", ago(h.lastSuccess), h.limit, lastErr)
}

// shortReason keeps the first line of an error, at most 300 bytes: /healthz is for probes and
// people glancing at it; the journal has the whole error.
func shortReason(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func (h *health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ok, why := h.check()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(w, why)
}

// checkListenAddr refuses, before anything else runs, what cannot be listened on.
func checkListenAddr(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return usagef("--metrics-listen %q is not an address; use HOST:PORT or :PORT, e.g. :9464 or 127.0.0.1:9464", addr)
	}
	return nil
}

// monitorServer serves /metrics and /healthz for sync watch --metrics-listen.
type monitorServer struct {
	srv *http.Server
	lis net.Listener
}

// serveMonitoring listens on addr and serves, until close, the exporter's metrics plus the Go
// runtime's and the process's on /metrics, and h on /healthz.
func serveMonitoring(addr string, e *exporter, h *health, log *slog.Logger) (*monitorServer, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	// The process and runtime metrics live in a registry of their own: the metrics file,
	// gathered from e's registry, is about passes only.
	runtimeReg := prometheus.NewRegistry()
	runtimeReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(prometheus.Gatherers{e.reg, runtimeReg}, promhttp.HandlerOpts{}))
	mux.Handle("/healthz", h)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "teamsface sync watch: /metrics (Prometheus), /healthz (200 while passes finish, else 503)")
	})
	s := &monitorServer{lis: lis, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}}
	go func() {
		if err := s.srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("the metrics listener stopped", "address", s.addr(), "error", err)
		}
	}()
	return s, nil
}

// addr is the address served on (with the port the system chose for :0).
func (s *monitorServer) addr() string { return s.lis.Addr().String() }

// close stops serving; a scrape in flight gets a few seconds to finish.
func (s *monitorServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
}
