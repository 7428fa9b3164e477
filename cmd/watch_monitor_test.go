package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph/graphtest"
)

// watchDriver runs `teamsface sync watch` through Run, as a process would, and holds it in each
// wait between passes until the test lets it go on: the test looks at it (its listener, its
// output, the doubles) while nothing moves, and no test waits real seconds.
type watchDriver struct {
	t       *testing.T
	h       *harness
	sigs    chan os.Signal
	waits   chan time.Duration // a wait between passes has begun
	replies chan bool          // true: that wait ends (the clock moves by it); false: it never ends by itself
	stdout  *syncBuffer
	stderr  *syncBuffer
	done    chan int
}

func startWatch(t *testing.T, h *harness, args ...string) *watchDriver {
	t.Helper()
	d := &watchDriver{t: t, h: h, sigs: make(chan os.Signal), waits: make(chan time.Duration),
		replies: make(chan bool), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1)}
	deps := h.deps(nil, nil)
	deps.Stdout, deps.Stderr, deps.Signals = d.stdout, d.stderr, d.sigs
	deps.Exit = func(code int) { t.Errorf("exit(%d): a second signal", code) }
	deps.After = func(wait time.Duration) <-chan time.Time {
		d.waits <- wait
		if !<-d.replies {
			return nil
		}
		h.advance(ceilSecond(wait))
		c := make(chan time.Time, 1)
		c <- h.clock()
		return c
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { d.done <- h.runWith(ctx, deps, args...) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			t.Error("sync watch did not end")
		}
	})
	return d
}

// nextWait waits until sync watch waits between passes, i.e. until a pass has ended, and returns
// how long it waits. It fails the test if sync watch ends instead.
func (d *watchDriver) nextWait() time.Duration {
	d.t.Helper()
	select {
	case w := <-d.waits:
		return w
	case code := <-d.done:
		d.done <- code
		d.t.Fatalf("sync watch ended with %d instead of waiting for the next pass\n%s", code, d.stderr.String())
	case <-time.After(10 * time.Second):
		d.t.Fatalf("sync watch did not get to its wait\n%s", d.stderr.String())
	}
	return 0
}

// proceed ends the wait: the next pass runs.
func (d *watchDriver) proceed() { d.replies <- true }

// hold lets the wait go on until something else (a signal) ends it.
func (d *watchDriver) hold() { d.replies <- false }

// signal sends a signal the way the OS would.
func (d *watchDriver) signal(s os.Signal) {
	d.t.Helper()
	select {
	case d.sigs <- s:
	case <-time.After(10 * time.Second):
		d.t.Fatalf("nobody took %v", s)
	}
}

// stop sends SIGTERM during a held wait and returns the exit code.
func (d *watchDriver) stop() int {
	d.t.Helper()
	d.hold()
	d.signal(syscall.SIGTERM)
	select {
	case code := <-d.done:
		d.done <- code // for Cleanup
		return code
	case <-time.After(10 * time.Second):
		d.t.Fatalf("sync watch did not stop on SIGTERM\n%s", d.stderr.String())
	}
	return 0
}

var listenLine = regexp.MustCompile(`msg="sync watch started" .*\bmetrics_listen=(\S+)`)

// listenAddr is the address the start line names.
func (d *watchDriver) listenAddr() string {
	d.t.Helper()
	m := listenLine.FindStringSubmatch(d.stderr.String())
	if m == nil {
		d.t.Fatalf("no start line with metrics_listen:\n%s", d.stderr.String())
	}
	return m[1]
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// sync watch --metrics-listen serves, to a real HTTP client, the metrics file's metrics plus
// teamsface_build_info and the runtime's, and a /healthz that fails once the last successful
// pass is older than 3 × interval + pass timeout, saying why.
func TestWatchServesMetricsAndHealth(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, "")
	h.setPresence(0, "Busy", "InACall")
	file := filepath.Join(h.dir, "teamsface.prom")
	d := startWatch(t, h, "--log-level", "info", "sync", "watch", "--interval", "10s",
		"--metrics-listen", "127.0.0.1:0", "--metrics-file", file)
	d.nextWait()
	base := "http://" + d.listenAddr()

	code, body := httpGet(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	ver, rev, _ := buildInfo()
	for _, want := range []string{
		`teamsface_build_info{commit="` + rev + `",goversion="` + runtime.Version() + `",version="` + ver + `"} 1`,
		"teamsface_pass_success 1", `teamsface_users{status="matched"} 3`, `teamsface_pass_changes{kind="dnd_on"} 1`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The same values as the metrics file, sample for sample.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	samples := 0
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		samples++
		if !strings.Contains(body, line) {
			t.Errorf("/metrics lacks the metrics file's %q", strings.TrimSpace(line))
		}
	}
	if samples < 15 {
		t.Errorf("the metrics file has %d samples:\n%s", samples, data)
	}
	if strings.Contains(string(data), "go_goroutines") {
		t.Error("the metrics file carries the Go runtime's metrics; they are for /metrics only")
	}

	code, body = httpGet(t, base+"/healthz")
	if code != http.StatusOK || !strings.HasPrefix(body, "ok: last successful pass 0s ago") {
		t.Errorf("/healthz after a pass: %d %q", code, body)
	}
	// No pass for longer than 3 × 10s + 90s: the process is stuck, or passes keep failing.
	h.advance(2*time.Minute + time.Second)
	code, body = httpGet(t, base+"/healthz")
	if code != http.StatusServiceUnavailable || body != "last successful pass 2m1s ago, longer than 2m0s (3 × interval + pass timeout)\n" {
		t.Errorf("/healthz with a stale pass: %d %q", code, body)
	}

	// A pass that fails keeps it failing and says why.
	h.gs.AddFault(graphtest.Fault{Path: presencesByUser, Status: 500, Times: 1})
	d.proceed()
	d.nextWait()
	code, body = httpGet(t, base+"/healthz")
	failedAt := h.clock().UTC().Format(time.RFC3339)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "; the last pass failed ("+failedAt+", 0s ago): read Teams presence: graph: ") {
		t.Errorf("/healthz after a failed pass: %d %q", code, body)
	}
	_, m := httpGet(t, base+"/metrics")
	if !strings.Contains(m, "teamsface_pass_success 0\n") {
		t.Error("/metrics does not show the failed pass")
	}
	if want := fmt.Sprintf("teamsface_last_failure_timestamp_seconds %g\n", float64(h.clock().Unix())); !strings.Contains(m, want) {
		t.Errorf("/metrics does not say when the last pass failed: want %q in\n%s", want, m)
	}
	// The next pass finishes: healthy again.
	d.proceed()
	d.nextWait()
	if code, body = httpGet(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after a pass finished again: %d %q", code, body)
	}

	if code := d.stop(); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, d.stderr.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still listening after sync watch ended")
	}
	logs := d.stderr.String()
	for _, want := range []string{
		`level=INFO msg="sync watch started" version=` + ver + ` commit=` + rev + ` config=` + h.cfgPath + ` state_dir=` + h.stateDir +
			` interval=10s pass_timeout=1m30s metrics_listen=127.0.0.1:`,
		` metrics_file=` + file + "\n",
		`msg="users in scope" in_scope=3 matched=3 unmatched=0 ambiguous=0 disabled=0 excluded=1` + "\n",
		`msg="sync watch stopped" reason="received SIGTERM"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, logs)
		}
	}
	// One info line per pass that changed something: the first of three.
	if n := strings.Count(logs, `msg="pass changed something"`); n != 1 || !strings.Contains(logs, `msg="pass changed something" changes=1 dnd_on=1 released=0`) {
		t.Errorf("%d lines for passes that changed something, want 1:\n%s", n, logs)
	}
}

// A listen address that is not one is a usage error; one that is taken ends sync watch before
// it signs in anywhere.
func TestWatchMetricsListenRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	if code, _, errs := h.run("sync", "watch", "--metrics-listen", "9464"); code != ExitUsage ||
		!strings.Contains(errs, `--metrics-listen "9464" is not an address; use HOST:PORT or :PORT`) {
		t.Errorf("--metrics-listen 9464: exit %d\n%s", code, errs)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	code, _, errs := h.run("sync", "watch", "--metrics-listen", taken.Addr().String())
	if code != ExitFailure || !strings.Contains(errs, "teamsface: --metrics-listen: listen tcp "+taken.Addr().String()) {
		t.Errorf("a taken port: exit %d\n%s", code, errs)
	}
	if n := len(h.gs.Requests()) + len(h.ss.Requests()); n != 0 {
		t.Errorf("%d requests before the listener failed", n)
	}
}

func TestHealthCheck(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		lastSuccess time.Duration // after start; <0: none yet
		waitUntil   time.Duration // after start; 0: no Retry-After
		lastErr     string
		now         time.Duration // after start
		ok          bool
		why         string
	}{
		{"starting", -1, 0, "", time.Minute, true, "starting: no pass has finished yet (started 1m0s ago, allowed 2m0s)"},
		{"first pass failing within the grace", -1, 0, "boom", 2 * time.Minute, true, "starting: no pass has finished yet (started 2m0s ago, allowed 2m0s); the last pass failed (2026-11-23T09:00:00Z, 2m0s ago): boom"},
		{"no pass finished after the grace", -1, 0, "boom", 2*time.Minute + time.Second, false, "no pass has finished since the start 2m1s ago (allowed 2m0s); the last pass failed (2026-11-23T09:00:00Z, 2m1s ago): boom"},
		{"fresh", 0, 0, "", 10 * time.Second, true, "ok: last successful pass 10s ago"},
		{"at the limit", 0, 0, "", 2 * time.Minute, true, "ok: last successful pass 2m0s ago"},
		{"stale", 0, 0, "", 2*time.Minute + time.Second, false, "last successful pass 2m1s ago, longer than 2m0s (3 × interval + pass timeout)"},
		{"stale with an error", 0, 0, "graph: 500", 5 * time.Minute, false, "last successful pass 5m0s ago, longer than 2m0s (3 × interval + pass timeout); the last pass failed (2026-11-23T09:00:00Z, 5m0s ago): graph: 500"},
		{"waiting for Graph", 0, time.Hour, "", 30 * time.Minute, true, "ok: waiting until 2026-11-23T10:00:00Z, as Graph asked (Retry-After); last successful pass 30m0s ago"},
		{"Graph's wait long over", 0, time.Hour, "", time.Hour + 2*time.Minute + time.Second, false, "last successful pass 1h2m1s ago, longer than 2m0s (3 × interval + pass timeout)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := start
			h := newHealth(func() time.Time { return now }, 10*time.Second, 90*time.Second)
			if tc.lastSuccess >= 0 {
				var until time.Time
				if tc.waitUntil > 0 {
					until = start.Add(tc.waitUntil)
				}
				h.succeeded(start.Add(tc.lastSuccess), until)
			}
			if tc.lastErr != "" {
				h.failed(errString(tc.lastErr), start)
			}
			now = start.Add(tc.now)
			ok, why := h.check()
			if ok != tc.ok || why != tc.why {
				t.Errorf("check() = %v, %q\nwant %v, %q", ok, why, tc.ok, tc.why)
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// The start, users-in-scope, stopping and stop lines are there at the default level (warn), for
// the journal; --log-level error and -q leave them out, and stderr stays empty.
func TestWatchStartAndStopLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"--log-level", "error"}, false},
		{[]string{"-q"}, false},
	} {
		h := newHarness(t, 1, "")
		d := startWatch(t, h, append([]string{"sync", "watch"}, tc.args...)...)
		d.nextWait()
		if code := d.stop(); code != ExitOK {
			t.Fatalf("%v: exit %d", tc.args, code)
		}
		logs := d.stderr.String()
		sc := bufio.NewScanner(strings.NewReader(logs))
		var lines []string
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "time=") {
				lines = append(lines, sc.Text())
			}
		}
		if got := len(lines) == 4 && strings.Contains(lines[0], "sync watch started") &&
			strings.Contains(lines[2], `msg="stopping: finishing the pass in flight`) && strings.Contains(lines[3], "sync watch stopped"); got != tc.want {
			t.Errorf("%v: start, stopping and stop lines %v, want %v:\n%s", tc.args, got, tc.want, logs)
		}
		if !tc.want && logs != "" {
			t.Errorf("%v: stderr is not empty:\n%s", tc.args, logs)
		}
	}
}
