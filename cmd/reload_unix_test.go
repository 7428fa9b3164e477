//go:build unix

package cmd

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

// onlyOff is a mapping that never switches DND on: after a reload to it, owned DNDs are released.
const onlyOff = `teams_to_starface:
  rules:
    - when: {}
      dnd: off
`

// SIGHUP re-reads the configuration: a valid one applies from the next pass, with the clients
// whose settings did not change kept; a bad one is logged with its errors and the running one
// stays.
func TestSighupReloadsTheConfiguration(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.setPresence(0, "Busy", "InACall")
	d := startWatch(t, h, "sync", "watch", "--interval", "10s")
	d.nextWait()
	if !h.dnd(0) {
		t.Fatal("the first pass did not switch DND on for the call")
	}

	// A new mapping: the call no longer means DND.
	h.writeConfig(onlyOff)
	d.hold()
	d.signal(syscall.SIGHUP)
	d.nextWait() // the wait goes on after the reload
	logs := d.stderr.String()
	if !strings.Contains(logs, `msg="configuration reloaded; it applies from the next pass" file=`+h.cfgPath+` graph_client=kept starface_client=kept`) {
		t.Fatalf("no reload line:\n%s", logs)
	}
	if !h.dnd(0) {
		t.Fatal("the reload changed a phone before the next pass")
	}
	d.proceed()
	d.nextWait()
	if h.dnd(0) {
		t.Error("the pass after the reload did not apply the new rules (DND still on)")
	}
	if n := strings.Count(d.stderr.String(), `msg="users in scope"`); n != 2 {
		t.Errorf("%d users-in-scope lines, want one after the start and one after the reload:\n%s", n, d.stderr.String())
	}

	// A broken file: logged with the line it breaks on, and the running configuration stays.
	h.writeFile("mapping.yaml", "microsoft:\n  tenant: [\n")
	d.hold()
	d.signal(syscall.SIGHUP)
	d.nextWait()
	logs = d.stderr.String()
	if !strings.Contains(logs, `level=ERROR msg="configuration not reloaded; the running one stays" file=`+h.cfgPath+` error="`+h.cfgPath+`:`) {
		t.Fatalf("the bad configuration is not reported with its file and line:\n%s", logs)
	}
	h.setPresence(1, "Busy", "InACall")
	d.proceed()
	d.nextWait()
	if h.dnd(1) {
		t.Error("the pass after a bad reload did not run with the last good configuration (onlyOff)")
	}
	if code := d.stop(); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, d.stderr.String())
	}
}

// A rotated secret is a reason to send SIGHUP: the client that reads it is rebuilt, the other
// kept. A secret that can no longer be read keeps the running configuration.
func TestSighupRebuildsOnlyTheClientsWhoseSettingsChanged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	d := startWatch(t, h, "sync", "watch", "--interval", "10s")
	d.nextWait()

	h.writeFile("starface-password", "rotated-password")
	d.hold()
	d.signal(syscall.SIGHUP)
	d.nextWait()
	if logs := d.stderr.String(); !strings.Contains(logs, "graph_client=kept starface_client=rebuilt") {
		t.Fatalf("a rotated STARFACE password did not rebuild the STARFACE client:\n%s", logs)
	}

	h.writeFile("client-secret", "")
	d.hold()
	d.signal(syscall.SIGHUP)
	d.nextWait()
	if logs := d.stderr.String(); !strings.Contains(logs, `msg="configuration not reloaded; the running one stays"`) ||
		strings.Count(logs, "configuration reloaded") != 1 {
		t.Fatalf("an empty client secret was taken:\n%s", logs)
	}
	if strings.Contains(d.stderr.String(), "rotated-password") || strings.Contains(d.stderr.String(), testSecret) {
		t.Error("a secret is in the log")
	}
	if code := d.stop(); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, d.stderr.String())
	}
}

// sync once does not listen for SIGHUP (its default action, ending the process, stays), and one
// that reaches the handler anyway is no stop: the SIGTERM after it is.
func TestSighupIsNoStop(t *testing.T) {
	t.Parallel()
	sigs := make(chan os.Signal)
	var errb syncBuffer
	g := &globals{logLevel: "warn", deps: Deps{Stderr: &errb, Signals: sigs, Exit: func(code int) { t.Errorf("exit(%d)", code) }}}
	sd := g.watchSignals(t.Context(), g.noticeLogger(false))
	defer sd.release()
	if sd.reload != nil {
		t.Error("sync once gets a reload channel")
	}
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGTERM
	<-sd.stop.Done()
	var sig *stopSignal
	if !errors.As(context.Cause(sd.stop), &sig) || sig.sig != syscall.SIGTERM {
		t.Errorf("stopped by %v, want SIGTERM", context.Cause(sd.stop))
	}
	if n := strings.Count(errb.String(), "finishing the pass in flight"); n != 1 {
		t.Errorf("%d stop messages:\n%s", n, errb.String())
	}
}
