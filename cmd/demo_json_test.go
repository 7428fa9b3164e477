package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/pass"
)

// demoGlobals are the demo's flags with -o json, writing into out and errb, with no real
// second between passes.
func demoGlobals(out, errb *bytes.Buffer, output string) *globals {
	g := &globals{deps: Deps{Stdout: out, Stderr: errb, Getenv: func(string) string { return "" }, Now: time.Now},
		output: output, logLevel: "warn", logFormat: "text"}
	g.after = func(time.Duration) <-chan time.Time {
		c := make(chan time.Time, 1)
		c <- time.Now()
		return c
	}
	return g
}

// demo -o json prints JSON lines on stdout and nothing else: one object per pass, as sync watch
// does, then one summary object marked "type":"summary". Its totals are what the simulated
// services saw, request by request.
func TestDemoJSONIsJSONLinesWithTrueTotals(t *testing.T) {
	t.Parallel()
	for _, version := range []int{9, 10} {
		t.Run(fmt.Sprintf("STARFACE %d", version), func(t *testing.T) {
			var out, errb bytes.Buffer
			o := demoOptions{users: 12, duration: 15 * time.Second, seed: 1, starface: version}
			w, err := newDemoWorld(o)
			if err != nil {
				t.Fatal(err)
			}
			defer w.close()
			if err := playDemo(context.Background(), context.Background(), demoGlobals(&out, &errb, "json"), o, w); err != nil {
				t.Fatalf("demo: %v\n%s", err, errb.String())
			}

			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			var sum pass.Summary
			for i, line := range lines[:len(lines)-1] {
				var rep struct {
					Type    string       `json:"type"`
					Summary pass.Summary `json:"summary"`
				}
				if err := json.Unmarshal([]byte(line), &rep); err != nil || rep.Type != "" {
					t.Fatalf("stdout line %d is not a pass's JSON object (%v):\n%s", i+1, err, line)
				}
				sum.Add(rep.Summary)
			}
			var got demoSummary
			dec := json.NewDecoder(strings.NewReader(lines[len(lines)-1]))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil || got.Type != "summary" {
				t.Fatalf("the last stdout line is not the summary (%v):\n%s", err, lines[len(lines)-1])
			}
			if got.Passes != 15 || len(lines) != 16 {
				t.Errorf("%d passes in the summary, %d pass lines; want 15 of each", got.Passes, len(lines)-1)
			}
			// The totals add up the pass lines...
			want := sum
			want.InScope, want.Matched = 0, 0 // not added up: not in the totals
			if got.Totals.InScope != nil || got.Totals.Matched != nil || got.Totals.Summary != want {
				t.Errorf("totals %+v\nthe pass lines add up to %+v", got.Totals, want)
			}
			// ... and match what the services saw.
			checkDemoTotals(t, got, w)
			if got.InScope != 12 || got.Matched != 9 || got.Totals.Failed != 0 || got.Totals.SwitchedOn < 2 || got.Totals.SessionsSet < 1 {
				t.Errorf("summary %+v", got)
			}
			for _, want := range []string{"[scenario] ", "[match] ", "SIMULATION"} {
				if !strings.Contains(errb.String(), want) || strings.Contains(out.String(), want) {
					t.Errorf("%q is not on stderr alone", want)
				}
			}
		})
	}
}

// checkDemoTotals compares the summary with the doubles' request logs.
func checkDemoTotals(t *testing.T, s demoSummary, w *demoWorld) {
	t.Helper()
	var dndOn, dndOff, phoneGets, presenceIDs int
	for _, r := range w.ss.Requests() {
		if !strings.HasSuffix(r.Path, "/phoneconfig") || r.Status/100 != 2 {
			continue
		}
		switch r.Method {
		case "GET":
			phoneGets++
		case "PUT":
			var pc struct {
				DoNotDisturb bool `json:"doNotDisturb"`
			}
			if err := json.Unmarshal(r.Body, &pc); err != nil {
				t.Fatalf("PUT %s: %v", r.Path, err)
			}
			if pc.DoNotDisturb {
				dndOn++
			} else {
				dndOff++
			}
		}
	}
	sessionsSet, sessionsCleared := 0, 0
	for _, r := range w.gs.Requests() {
		switch {
		case r.Status/100 != 2:
		case r.Method == "POST" && r.Path == "/v1.0/communications/getPresencesByUserId":
			var body struct {
				IDs []string `json:"ids"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			presenceIDs += len(body.IDs)
		case r.Method == "POST" && strings.HasSuffix(r.Path, "/presence/setPresence"):
			sessionsSet++
		case r.Method == "POST" && strings.HasSuffix(r.Path, "/presence/clearPresence"):
			sessionsCleared++
		}
	}
	tot := s.Totals
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"dnd_on (PUTs switching DND on)", tot.SwitchedOn, dndOn},
		{"released (PUTs switching DND off)", tot.Released, dndOff},
		{"phone_reads (phone-config GETs)", tot.PhoneReads, phoneGets},
		{"presence_read (ids asked of Graph)", tot.PresenceRead, presenceIDs},
		{"sessions_set (setPresence)", tot.SessionsSet, sessionsSet},
		{"sessions_cleared (clearPresence)", tot.SessionsCleared, sessionsCleared},
		{"starface_phone_writes", s.StarfacePhoneWrites, dndOn + dndOff},
		{"presence_requests", s.PresenceRequests, w.gs.CountRequests("POST", "/v1.0/communications/getPresencesByUserId")},
		{"token_requests", s.TokenRequests, w.gs.TokenRequests()},
	} {
		if c.got != c.want {
			t.Errorf("%s: the summary says %d, the services saw %d", c.name, c.got, c.want)
		}
	}
	if w.oh != nil {
		if tot.OneHubStates != 15*9 {
			t.Errorf("onehub_states %d, want 9 users in each of 15 passes", tot.OneHubStates)
		}
	}
}

// Above 650 matched users a pass asks Graph for presence in ceil(N/650) requests, and the demo
// says so instead of "one per pass".
func TestDemoSaysHowManyPresenceRequestsAPassTakes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("1,304 simulated users")
	}
	var out, errb bytes.Buffer
	o := demoOptions{users: 1304, duration: 2 * time.Second, seed: 1, starface: 9}
	w, err := newDemoWorld(o)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if err := playDemo(context.Background(), context.Background(), demoGlobals(&out, &errb, "table"), o, w); err != nil {
		t.Fatalf("demo: %v\n%s", err, errb.String())
	}
	n := w.gs.CountRequests("POST", "/v1.0/communications/getPresencesByUserId")
	if n != 2*3 {
		t.Fatalf("%d presence requests in 2 passes of 1,301 matched users, want 6", n)
	}
	if want := "presence 6: 3 per pass, 650 users a request at most"; !strings.Contains(out.String(), want) {
		t.Errorf("the summary does not say %q:\n%s", want, out.String())
	}
	if strings.Contains(out.String(), "one per pass") {
		t.Errorf("the summary still says one per pass:\n%s", out.String())
	}
}

// --duration must leave room for one pass a second.
func TestDemoRefusesADurationWithoutAPass(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"0s", "-5s", "500ms"} {
		code, out, errs := runCLI(t, nil, "demo", "--duration", d)
		if code != ExitUsage || out != "" || !strings.Contains(errs, "--duration "+d+" is too short; the demo runs one pass a second: use 1s or more, e.g. 15s") {
			t.Errorf("--duration %s: exit %d\nstdout:\n%s\nstderr:\n%s", d, code, out, errs)
		}
	}
}
