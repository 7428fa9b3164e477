package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDemoRunsTheScenarioAgainstSimulatedServices(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	g := &globals{deps: Deps{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now},
		output: "json", logLevel: "warn", logFormat: "text"}
	g.after = func(time.Duration) <-chan time.Time { // no test sleeps a second per pass
		c := make(chan time.Time, 1)
		c <- time.Now()
		return c
	}
	if err := runDemo(context.Background(), context.Background(), g, demoOptions{users: 12, duration: 15 * time.Second, seed: 1}); err != nil {
		t.Fatalf("demo: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "SIMULATION") {
		t.Error("the demo does not say that both services are simulated")
	}
	var sum demoSummary
	// sync watch prints one JSON line per pass; the demo's summary comes last.
	dec := json.NewDecoder(&out)
	var err error
	for dec.More() && err == nil {
		err = dec.Decode(&sum)
	}
	if err != nil {
		t.Fatalf("demo -o json summary: %v", err)
	}
	if !sum.Simulated || sum.Passes != 15 || sum.PresenceRequests != 15 || sum.TokenRequests != 1 {
		t.Errorf("summary = %+v", sum)
	}
	tot := sum.Totals
	// Alice's call and Bob's meeting switch DND on and both are released; Dave's hand-set DND
	// gets a Teams session and it is cleared again; Erin, Frank and Grace never take part.
	if sum.Matched != 9 || tot.SwitchedOn < 2 || tot.Released < 2 || tot.SessionsSet < 1 || tot.SessionsCleared < 1 || tot.Failed != 0 {
		t.Errorf("totals = %+v", tot)
	}
	for _, want := range []string{"0007 Frank Adler: ambiguous", "0006 Erin Adler: unmatched", "0001 PBX Admin: excluded"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}
