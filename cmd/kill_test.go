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

// A run killed while its setPresence is in flight leaves a Teams session the state never
// recorded; the session intent it wrote first lets the next run clear it once the DND is off.
func TestKilledDuringSetPresenceIsClearedByTheNextRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.gs.SetClock(time.Now)
	h.ss.SetClock(time.Now)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.gs.Certificate().Raw})
	h.writeFile("ca.pem", string(ca))
	h.configure(cfgOpts{starface: "  ca_file: " + filepath.Join(h.dir, "ca.pem") + "\n", tail: mirrorYAML})
	if out, err := h.process("sync", "once").CombinedOutput(); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	p := h.people[0]
	h.ss.SetDND(p.sfID, true) // by hand
	set := "/v1.0/users/" + p.entraID + "/presence/setPresence"
	h.gs.AddFault(graphtest.Fault{Method: "POST", Path: set, HoldAnswer: time.Minute, Times: 1})

	c := h.process("sync", "once")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the session to land in Teams", func() bool { return len(h.gs.Sessions(p.entraID)) == 1 })
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	if st, _, _ := state.ReadOnly(h.stateDir); st.User(p.login) != nil {
		if _, ok := st.User(p.login).Session(); ok {
			t.Fatal("the killed run recorded its session after all; the test proves nothing")
		}
	}

	h.ss.SetDND(p.sfID, false)
	if out, err := h.process("sync", "once").CombinedOutput(); err != nil {
		t.Fatalf("run after the kill: %v\n%s", err, out)
	}
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
