package cmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/starface/onehub/onehubtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

// BenchmarkPass measures one `sync watch` pass against both test doubles: a steady pass (no
// presence changes), and one in which 1% of the users change presence. It reports the requests
// each service got per pass, the bytes written to the state directory per pass and the state's
// size per user. The request counts are the contract (DESIGN.md rule 5): ceil(N/650) Graph
// requests, two STARFACE requests per change and none for unchanged users, and a steady pass
// writes nothing; the benchmark fails if they are off.
func BenchmarkPass(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, churn := range []int{0, 1} {
			b.Run(fmt.Sprintf("users=%d/churn=%d%%", n, churn), func(b *testing.B) { benchmarkPass(b, n, churn, 0) })
		}
	}
}

// BenchmarkPassLatency is the 1% churn pass at 10,000 users with 20 ms added to every answer of
// both services: a pass is then bound by round trips, ceil(2 × changes / starface.concurrency)
// × 20 ms for the STARFACE writes (each a read and a write) plus the presence reads.
func BenchmarkPassLatency(b *testing.B) {
	benchmarkPass(b, 10000, 1, 20*time.Millisecond)
}

// openRun opens a write run on the harness's state directory with the environment the passes
// of a sync run with: a benchmark's passes run through the runner, as sync watch's do.
func (h *harness) openRun() (*pass.Run, pass.Env) {
	h.t.Helper()
	var out, errb bytes.Buffer
	g := &globals{deps: h.deps(&out, &errb), configFile: h.cfgPath, stateDir: h.stateDir,
		output: "table", logLevel: "error", logFormat: "text"}
	f, err := g.factory("")
	if err != nil {
		h.t.Fatal(err)
	}
	env, err := f.liveEnv(context.Background(), 10*time.Second)
	if err != nil {
		h.t.Fatal(err)
	}
	run, err := f.open(pass.OpenOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		run.Close()
		f.svc.close()
	})
	return run, env
}

func benchmarkPass(b *testing.B, n, churnPct int, latency time.Duration) {
	h := newHarness(b, n, "")
	run, env := h.openRun()
	ctx := context.Background()
	if _, err := run.Pass(ctx, env, pass.Options{}); err != nil {
		b.Fatal(err)
	}
	if latency > 0 {
		h.gs.AddFault(graphtest.Fault{Path: "/v1.0/", Delay: latency})
		h.ss.AddFault(starfacetest.Fault{Path: "/rest/", Delay: latency})
	}

	changing := n * churnPct / 100
	inCall := make([]bool, n)
	wantGraph := (n + 649) / 650
	var graphReqs, sfReqs int
	var written, syncs int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h.resetLogs()
		for k := 0; k < changing; k++ {
			j := (i*changing + k) % n
			inCall[j] = !inCall[j]
			if inCall[j] {
				h.setPresence(j, "Busy", "InACall")
			} else {
				h.setPresence(j, "Available", "Available")
			}
		}
		w0, s0 := run.Written()
		b.StartTimer()
		rep, err := run.Pass(ctx, env, pass.Options{})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		w1, s1 := run.Written()
		written, syncs = written+w1-w0, syncs+s1-s0
		graphReqs = h.gs.CountRequests("", "/v1.0/")
		sfReqs = h.ss.CountRequests("", "/rest/")
		if graphReqs != wantGraph {
			b.Fatalf("pass %d: %d Graph requests, want ceil(%d/650) = %d", i, graphReqs, n, wantGraph)
		}
		changes := rep.Summary.SwitchedOn + rep.Summary.Released
		if changes != changing || sfReqs != 2*changes {
			b.Fatalf("pass %d: %d changes and %d STARFACE requests, want %d and %d", i, changes, sfReqs, changing, 2*changing)
		}
		if changing == 0 && w1 != w0 {
			b.Fatalf("steady pass %d wrote %d bytes to the state directory", i, w1-w0)
		}
		b.StartTimer()
	}
	b.StopTimer()
	fi, err := os.Stat(filepath.Join(h.stateDir, "state.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(graphReqs), "graph-req/pass")
	b.ReportMetric(float64(sfReqs), "starface-req/pass")
	b.ReportMetric(float64(written)/float64(b.N), "state-B-written/pass")
	b.ReportMetric(float64(syncs)/float64(b.N), "fsyncs/pass")
	b.ReportMetric(float64(fi.Size())/float64(n), "state-B/user")
	b.ReportMetric(float64(h.ss.MaxInFlight()), "starface-max-in-flight")
	if latency > 0 {
		// The least a pass can take: its STARFACE round trips at starface.concurrency in flight.
		floor := time.Duration((2*changing+3)/4) * latency
		b.ReportMetric(float64(floor.Milliseconds()), "floor-ms")
		b.ReportMetric(100*(float64(b.Elapsed())/float64(b.N)/float64(floor)-1), "%-over-floor")
	}
}

// BenchmarkMirrorReads is one steady pass of the STARFACE → Teams direction at 10,000 users
// that reads every user's DND: over REST (one phone-config request each, read_rate high enough
// to read everyone) against STARFACE 10's OneHub (one subscribe and one unsubscribe per 1,000).
func BenchmarkMirrorReads(b *testing.B) {
	const n = 10000
	b.Run("rest", func(b *testing.B) {
		h := newHarness(b, n, "starface_to_teams:\n  enabled: true\n  read_rate: 1000\n")
		benchmarkMirror(b, h, nil)
	})
	b.Run("onehub", func(b *testing.B) {
		h, oh := newHarnessOneHub(b, n)
		benchmarkMirror(b, h, oh)
	})
}

func benchmarkMirror(b *testing.B, h *harness, oh *onehubtest.Server) {
	n := len(h.people)
	run, env := h.openRun()
	if _, err := run.Pass(context.Background(), env, pass.Options{}); err != nil {
		b.Fatal(err)
	}
	var grpcReqs, restReads int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h.resetLogs()
		if oh != nil {
			oh.ResetCalls()
		}
		h.advance(10 * time.Second)
		b.StartTimer()
		rep, err := run.Pass(context.Background(), env, pass.Options{})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		restReads = h.phoneRequests("GET")
		if oh != nil {
			grpcReqs = len(oh.Calls())
			if rep.Summary.OneHubStates != n || restReads != 0 {
				b.Fatalf("OneHub pass: %d states, %d REST reads", rep.Summary.OneHubStates, restReads)
			}
		} else if restReads != n {
			b.Fatalf("REST pass read %d phone configs, want %d", restReads, n)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(grpcReqs), "grpc-req/pass")
	b.ReportMetric(float64(restReads), "phone-reads/pass")
}

// BenchmarkOutOfOffice is a steady pass at 1,000 users of whom 50 are out of office with
// out_of_office.redirect voicemail, each with an internal and an external number: it makes no
// redirect request at all (reported). Before the timed passes it measures the go and the return
// of 10 users (reported per redirect written): one list read per user and one PUT per redirect,
// plus the voicemail boxes once per user match and the client's check of the actOnBehalfOf
// form once per run.
func BenchmarkOutOfOffice(b *testing.B) {
	const n, away, moving = 1000, 50, 10
	h := newHarness(b, n, oooYAML)
	for i := range away + moving {
		h.holiday(i)
	}
	run, env := h.openRun()
	ctx := context.Background()
	pass1 := func() {
		h.advance(10 * time.Second)
		if rep, err := run.Pass(ctx, env, pass.Options{}); err != nil || rep.Summary.Failed != 0 {
			b.Fatalf("pass: %v %+v", err, rep)
		}
	}
	for i := range away {
		h.outOfOffice(i, true)
	}
	pass1() // the 50 go on holiday, the match and the boxes are read
	// The go and the return of 10 more.
	cost := func(on bool) (perRedirect, listReads float64) {
		for i := away; i < away+moving; i++ {
			h.outOfOffice(i, on)
		}
		h.resetLogs()
		pass1()
		puts := h.ss.CountRequests("PUT", "/rest/redirects/")
		lists := 0
		for i := away; i < away+moving; i++ {
			lists += h.listReadsFor(i)
		}
		all := h.ss.CountRequests("", "/rest/redirects") + h.ss.CountRequests("", "/rest/voicemailboxes") + h.ss.CountRequests("", "/rest/users/me")
		if puts != 2*moving || lists != moving || all-lists > 2*puts {
			b.Fatalf("moving %t: %d PUTs, %d list reads of the movers, %d redirect requests in all", on, puts, lists, all)
		}
		return float64(all-lists) / float64(puts), float64(lists) / moving
	}
	goCost, goLists := cost(true)
	backCost, _ := cost(false)
	var redirectReqs int
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		h.resetLogs()
		h.advance(10 * time.Second)
		b.StartTimer()
		rep, err := run.Pass(ctx, env, pass.Options{})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		redirectReqs = h.redirectRequests()
		if redirectReqs != 0 || rep.Summary.RedirectReads != 0 {
			b.Fatalf("a steady pass with %d users out of office made %d redirect requests", away, redirectReqs)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(redirectReqs), "redirect-req/steady-pass")
	// Reported last: ResetTimer drops metrics reported before it.
	b.ReportMetric(goCost, "go-req/redirect")
	b.ReportMetric(backCost, "return-req/redirect")
	b.ReportMetric(goLists, "list-reads/user")
}
