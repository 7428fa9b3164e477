//go:build unix

package cmd

import (
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
	"github.com/teamsface/teamsface/state"
)

// process runs teamsface as a process of its own against the harness's doubles, on real time:
// Graph is trusted through SSL_CERT_FILE, STARFACE through starface.ca_file.
func (h *harness) process(args ...string) *exec.Cmd {
	full := append([]string{"--config", h.cfgPath, "--state-dir", h.stateDir}, args...)
	c := exec.Command(os.Args[0], full...)
	c.Env = append(os.Environ(), "TEAMSFACE_TEST_MAIN=1", "SSL_CERT_FILE="+filepath.Join(h.dir, "ca.pem"))
	return c
}

// processHarness is a harness for runs in processes of their own, on real time: STARFACE is
// trusted through starface.ca_file, Graph through SSL_CERT_FILE (see process). tail is extra
// top-level YAML. The first run has matched the users and cached the tokens.
func processHarness(t *testing.T, n int, tail string) *harness {
	t.Helper()
	h := newHarness(t, n, "")
	h.gs.SetClock(time.Now)
	h.ss.SetClock(time.Now)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.gs.Certificate().Raw})
	h.writeFile("ca.pem", string(ca))
	h.configure(cfgOpts{starface: "  ca_file: " + filepath.Join(h.dir, "ca.pem") + "\n", tail: tail})
	return h
}

// mustProcess runs teamsface ARGS in a process of its own and fails the test unless it exits 0.
func (h *harness) mustProcess(args ...string) {
	h.t.Helper()
	if out, err := h.process(args...).CombinedOutput(); err != nil {
		h.t.Fatalf("teamsface %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// killDuring starts teamsface ARGS in a process, waits until inFlight holds, and SIGKILLs it.
func (h *harness) killDuring(what string, inFlight func() bool, args ...string) {
	h.t.Helper()
	c := h.process(args...)
	if err := c.Start(); err != nil {
		h.t.Fatal(err)
	}
	waitFor(h.t, what, inFlight)
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		h.t.Fatal(err)
	}
	_ = c.Wait()
}

// journalHas reports whether the journal holds an intent of this kind.
func (h *harness) journalHas(kind string) bool {
	j, _ := os.ReadFile(filepath.Join(h.stateDir, "journal"))
	return strings.Contains(string(j), `"kind":"`+kind+`"`)
}

// A run killed while its setPresence is in flight leaves a Teams session the state never
// recorded; the session intent it wrote first lets the next run clear it once the DND is off.
func TestKilledDuringSetPresenceIsClearedByTheNextRun(t *testing.T) {
	t.Parallel()
	h := processHarness(t, 2, mirrorYAML)
	h.mustProcess("sync", "once")
	p := h.people[0]
	h.ss.SetDND(p.sfID, true) // by hand
	set := "/v1.0/users/" + p.entraID + "/presence/setPresence"
	h.gs.AddFault(graphtest.Fault{Method: "POST", Path: set, HoldAnswer: time.Minute, Times: 1})

	h.killDuring("the session to land in Teams", func() bool { return len(h.gs.Sessions(p.entraID)) == 1 }, "sync", "once")
	if st, _, _ := state.ReadOnly(h.stateDir); st.User(p.login) != nil {
		if _, ok := st.User(p.login).Session(); ok {
			t.Fatal("the killed run recorded its session after all; the test proves nothing")
		}
	}

	h.ss.SetDND(p.sfID, false)
	h.mustProcess("sync", "once")
	if n := h.gs.CountRequests("POST", "/v1.0/users/"+p.entraID+"/presence/clearPresence"); n != 1 {
		t.Errorf("clearPresence after the kill: %d requests, want 1", n)
	}
	if s := h.gs.Sessions(p.entraID); len(s) != 0 {
		t.Errorf("the killed run's session is still up: %+v", s)
	}
	if j, _ := os.ReadFile(filepath.Join(h.stateDir, "journal")); strings.TrimSpace(string(j)) != "" {
		t.Errorf("journal not settled:\n%s", j)
	}
}

// A run killed while one of its redirect PUTs is in flight, where the PUT landed or not: the next
// run settles what it left and converges (both redirects on, owned, with the objects as they
// were before), and the return puts back exactly what was there. Nothing is lost.
func TestKilledDuringRedirectWritesConverges(t *testing.T) {
	t.Parallel()
	for _, landed := range []bool{true, false} {
		t.Run(map[bool]string{true: "landed", false: "not landed"}[landed], func(t *testing.T) {
			t.Parallel()
			h := processHarness(t, 1, oooYAML)
			internal, external := h.holiday(0)
			before := map[string]starfacetest.RedirectState{}
			for _, n := range []string{internal, external} {
				before[n] = h.redirectOf(n, starface.TriggerAlways)
			}
			h.mustProcess("sync", "once")
			h.outOfOffice(0, true)
			fault := starfacetest.Fault{Method: "PUT", Path: "/rest/redirects/", Times: 1, Delay: time.Minute}
			if landed {
				fault = starfacetest.Fault{Method: "PUT", Path: "/rest/redirects/", Times: 1, HoldAnswer: time.Minute}
			}
			h.ss.AddFault(fault)
			h.killDuring("a redirect PUT in flight", func() bool {
				// After the intents, the run's only requests are the PUTs: one in flight now is one.
				return h.journalHas(state.KindRedirect) && h.ss.InFlight() > 0 &&
					(!landed || h.redirectOf(internal, starface.TriggerAlways).Enabled || h.redirectOf(external, starface.TriggerAlways).Enabled)
			}, "sync", "once")
			h.mustProcess("sync", "once")
			st, pending, err := state.ReadOnly(h.stateDir)
			if err != nil || len(pending) != 0 {
				t.Fatalf("after the recovery: %v, journal %v", err, pending)
			}
			if owned := st.User(h.people[0].login).OwnedRedirects(); len(owned) != 2 {
				t.Errorf("owned after the recovery: %d, want 2", len(owned))
			}
			for _, n := range []string{internal, external} {
				if r := h.redirectOf(n, starface.TriggerAlways); !r.Enabled || !r.Destination.Equal(starface.MailboxDestination(100)) {
					t.Errorf("%s after the recovery: %+v", n, r)
				}
			}
			h.outOfOffice(0, false)
			h.mustProcess("sync", "once")
			for n, b := range before {
				if r := h.redirectOf(n, starface.TriggerAlways); r.Enabled != b.Enabled || !r.Destination.Equal(b.Destination) {
					t.Errorf("%s after the return: %+v, was %+v", n, r, b)
				}
			}
		})
	}
}

// The kill the issue names: a run killed while its setPresence is in flight, where the request
// may or may not have reached Graph, and the DND stays on. The next run takes the session as due
// now and sets it: it is in Teams after that one pass, not half an expiration later.
func TestKilledDuringSetPresenceIsSetByTheNextRun(t *testing.T) {
	t.Parallel()
	for _, landed := range []bool{true, false} {
		t.Run(map[bool]string{true: "landed", false: "not landed"}[landed], func(t *testing.T) {
			t.Parallel()
			h := processHarness(t, 2, mirrorYAML)
			h.mustProcess("sync", "once")
			p := h.people[0]
			h.ss.SetDND(p.sfID, true) // by hand
			set := "/v1.0/users/" + p.entraID + "/presence/setPresence"
			fault := graphtest.Fault{Method: "POST", Path: set, Delay: time.Minute, Times: 1}
			if landed {
				fault = graphtest.Fault{Method: "POST", Path: set, HoldAnswer: time.Minute, Times: 1}
			}
			h.gs.AddFault(fault)
			h.killDuring("the setPresence in flight", func() bool {
				return h.journalHas(state.KindSessionSet) && h.gs.InFlight() > 0 && (!landed || len(h.gs.Sessions(p.entraID)) == 1)
			}, "sync", "once")
			if !landed && len(h.gs.Sessions(p.entraID)) != 0 {
				t.Fatal("the held request landed after all; the test proves nothing")
			}
			h.resetLogs()
			h.mustProcess("sync", "once")
			answered := 0 // the killed run's request is logged with no answer, maybe only now
			for _, r := range h.gs.Requests() {
				if r.Path == set && r.Status != 0 {
					answered++
				}
			}
			if answered != 1 {
				t.Errorf("setPresence by the next run: %d answered requests, want 1", answered)
			}
			if s := h.gs.Sessions(p.entraID); len(s) != 1 {
				t.Errorf("the session is not in Teams after the next run: %+v", s)
			}
			st, _, _ := state.ReadOnly(h.stateDir)
			if s, ok := st.User(p.login).LiveSession(); !ok || time.Until(s.Expires) < 10*time.Minute {
				t.Errorf("session after the next run: %+v (live %t)", s, ok)
			}
		})
	}
}
