//go:build unix

package cmd

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// Exit 5 names the run that holds the lock: a sync watch in a process of its own, and a sync
// once that finds it there.
func TestLockedNamesTheHolder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.gs.SetClock(time.Now)
	h.ss.SetClock(time.Now)
	ca := h.writeFile("ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.gs.Certificate().Raw})))
	h.configure(cfgOpts{starface: "  ca_file: " + ca + "\n"})
	watch := h.process("sync", "watch", "-q")
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = watch.Process.Kill() }()
	held := regexp.MustCompile(fmt.Sprintf(`^teamsface: state: another teamsface run holds the lock on %s, held by pid %d \(%s --config \S+ --state-dir \S+ sync watch -q\) since \d\d:\d\d:\d\d \(gave up after 0s; see --lock-timeout\)\n$`,
		regexp.QuoteMeta(filepath.Join(h.stateDir, "lock")), watch.Process.Pid, regexp.QuoteMeta(filepath.Base(h.process().Path))))
	// The watch names itself in the lock file once it has held the lock for 2 s.
	lock := filepath.Join(h.stateDir, "lock")
	deadline := time.Now().Add(20 * time.Second)
	for fi, err := os.Stat(lock); err != nil || fi.Size() == 0; fi, err = os.Stat(lock) {
		if time.Now().After(deadline) {
			t.Fatal("sync watch did not name itself in the lock file")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _, errs := h.run("sync", "once"); code != ExitLocked || !held.MatchString(errs) {
		t.Fatalf("sync once beside sync watch: exit %d, %q; want %d matching %s", code, errs, ExitLocked, held)
	}
	// Stopped, the watch takes its record with it.
	if err := watch.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := watch.Wait(); err != nil {
		t.Fatalf("sync watch after SIGTERM: %v", err)
	}
	if fi, err := os.Stat(lock); err != nil || fi.Size() != 0 {
		t.Errorf("lock file after the watch stopped: %v; want it empty", err)
	}
}
