package cmd

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// BenchmarkSteadyStatePass measures one `sync watch` pass against both test doubles with 1% of
// the users changing presence, and reports the requests each service got per pass. The request
// counts are the contract (DESIGN.md rule 5): ceil(N/650) Graph requests, two STARFACE requests
// per change and none for unchanged users; the benchmark fails if they are off.
func BenchmarkSteadyStatePass(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) { benchmarkPass(b, n) })
	}
}

func benchmarkPass(b *testing.B, n int) {
	h := newHarness(b, n, "")
	var out, errb bytes.Buffer
	g := &globals{deps: h.deps(&out, &errb), configFile: h.cfgPath, stateDir: h.stateDir,
		output: "table", logLevel: "error", logFormat: "text"}
	r, err := g.newRun("")
	if err != nil {
		b.Fatal(err)
	}
	gc, sf, err := r.clients()
	if err != nil {
		b.Fatal(err)
	}
	store, st, err := r.openState(false)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	env := r.passEnv(gc, sf, syncOptions{})
	ctx := context.Background()
	if _, err := r.passAndSave(ctx, env, store, st, syncOptions{}); err != nil {
		b.Fatal(err)
	}

	changing := n / 100
	inCall := make([]bool, n)
	wantGraph := (n + 649) / 650
	var graphReqs, sfReqs int
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
		b.StartTimer()
		rep, err := r.passAndSave(ctx, env, store, st, syncOptions{})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		graphReqs = h.gs.CountRequests("", "/v1.0/")
		sfReqs = h.ss.CountRequests("", "/rest/")
		if graphReqs != wantGraph {
			b.Fatalf("pass %d: %d Graph requests, want ceil(%d/650) = %d", i, graphReqs, n, wantGraph)
		}
		changes := rep.Summary.SwitchedOn + rep.Summary.Released
		if changes != changing || sfReqs != 2*changes {
			b.Fatalf("pass %d: %d changes and %d STARFACE requests, want %d and %d", i, changes, sfReqs, changing, 2*changing)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(graphReqs), "graph-req/pass")
	b.ReportMetric(float64(sfReqs), "starface-req/pass")
}
