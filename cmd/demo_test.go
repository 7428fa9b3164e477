package cmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
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

// demo --serve --play plays the scripted day on the served company, a step per --step, so that
// another shell's teamsface sees it: here, a sync once between the steps.
func TestDemoServePlaysTheDay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errb syncBuffer
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	waits := make(chan chan time.Time)
	g := &globals{deps: Deps{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now},
		output: "table", logLevel: "warn", logFormat: "text"}
	g.after = func(time.Duration) <-chan time.Time {
		c := make(chan time.Time, 1)
		select {
		case waits <- c: // the test decides when the step comes
		case <-stop.Done():
		}
		return c
	}
	done := make(chan error, 1)
	go func() {
		done <- runDemoServe(stop, g, demoOptions{users: 12, serve: dir, play: true, step: 10 * time.Second, seed: 1, starface: 9})
	}()
	wait := <-waits // before the first step: the services are up, the configuration written
	data, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(data)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	sync := func() string {
		var o, e bytes.Buffer
		code := Run(context.Background(), Deps{Stdout: &o, Stderr: &e, Getenv: func(string) string { return "" }, HTTPClient: hc},
			[]string{"-c", filepath.Join(dir, "mapping.yaml"), "--state-dir", filepath.Join(dir, "state"), "sync", "once"})
		if code != 0 {
			t.Fatalf("sync once against the served demo: exit %d\n%s%s", code, o.String(), e.String())
		}
		return o.String()
	}
	sync()
	wait <- time.Now() // step 1: Alice starts a Teams call
	<-waits            // the step is done
	if got := sync(); !strings.Contains(got, "0002") || !strings.Contains(got, "dnd-on") {
		t.Errorf("after the first step the other shell's sync did not switch Alice's DND on:\n%s", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "[scenario] Alice starts a Teams call") {
		t.Errorf("stderr:\n%s", errb.String())
	}
}
