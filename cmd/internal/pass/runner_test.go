package pass

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/state"
)

func testRunner(t *testing.T, env Env) *Runner {
	t.Helper()
	return &Runner{Dir: filepath.Join(t.TempDir(), "state"), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: env.Now}
}

// A Write run saves what the pass changed and settles the journal; the next run starts from it.
func TestRunnerWriteRunSaves(t *testing.T) {
	f := newFakes(1)
	env, now := testEnv(t, f, "")
	rn := testRunner(t, env)
	f.setPresence("e-2", "Busy", "InACall")
	run, err := rn.Open(OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := run.Pass(context.Background(), env, Options{}); err != nil || rep.Withheld != nil {
		t.Fatalf("write run: %v, withheld %+v; want it to write", err, rep.Withheld)
	}
	run.Close()
	st, pending, err := state.ReadOnly(rn.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if u := st.User("0002"); u == nil || !u.Owned() || len(pending) != 0 {
		t.Fatalf("saved state: %+v, journal %v; want 0002 owned and nothing open", u, pending)
	}
	// The call ends: the next run releases what the first one saved as owned.
	f.setPresence("e-2", "Available", "Available")
	*now = now.Add(10 * time.Second)
	run, err = rn.Open(OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	rep, err := run.Pass(context.Background(), env, Options{})
	if err != nil || rep.Summary.Released != 1 || f.phones[2].DoNotDisturb {
		t.Errorf("second run: %+v, %v; DND %t", rep, err, f.phones[2].DoNotDisturb)
	}
}

// A read-only run plans the same pass and withholds every write: neither service nor the state
// directory changes.
func TestRunnerReadOnlyRunWithholdsEverything(t *testing.T) {
	f := newFakes(2)
	env, _ := testEnv(t, f, "starface_to_teams:\n  enabled: true\n")
	rn := testRunner(t, env)
	f.setPresence("e-2", "Busy", "InACall")
	f.setDND(3, true)
	run, err := rn.Open(OpenOptions{Mode: ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	rep, err := run.Pass(context.Background(), env, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.SwitchedOn != 1 || rep.Summary.SessionsSet != 1 {
		t.Errorf("plan %+v, want one DND on and one session", rep.Summary)
	}
	if f.count("put 2") != 0 || f.count("set e-3") != 0 {
		t.Errorf("a read-only run wrote: %v", f.calls)
	}
	// The report carries what was withheld: the plan's writes, per service.
	if rep.Withheld == nil || !reflect.DeepEqual(rep.Withheld.Pending(), map[string]int{ServiceStarface: 1, ServiceTeams: 1}) {
		t.Errorf("withheld = %+v, want one STARFACE and one Teams write", rep.Withheld)
	}
	if _, err := os.Stat(rn.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a read-only run created the state directory: %v", err)
	}
	if _, err := rn.Open(OpenOptions{Mode: ReadOnly, Reset: true}); err == nil {
		t.Error("a read-only run reset the state")
	}
}

// GraphAllowed says until when an earlier run's Retry-After lasts, and tells the client.
func TestRunnerGraphAllowed(t *testing.T) {
	f := newFakes(1)
	env, now := testEnv(t, f, "")
	rn := testRunner(t, env)
	run, err := rn.Open(OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.GraphAllowed(env); err != nil {
		t.Fatalf("no Retry-After remembered: %v", err)
	}
	run.st.SetGraphNotBefore(now.Add(time.Minute))
	var te *graph.ThrottledError
	if err := run.GraphAllowed(env); !errors.As(err, &te) || !te.Until.Equal(now.Add(time.Minute)) {
		t.Errorf("inside the window: %v", err)
	}
	if !f.NotBefore().Equal(now.Add(time.Minute)) {
		t.Errorf("the client was not told: %v", f.NotBefore())
	}
	if _, err := run.Match(context.Background(), env); !errors.As(err, &te) {
		t.Errorf("Match inside the window: %v", err)
	}
	if _, err := run.Presence(context.Background(), env, nil); !errors.As(err, &te) {
		t.Errorf("Presence inside the window: %v", err)
	}
	if n := f.count("entra users") + f.count("presence"); n != 0 {
		t.Errorf("Graph was asked %d times inside the window", n)
	}
	run.Close()
}

// A pass that fails as a whole keeps Graph's Retry-After for the runs after it, and the next pass
// starts from the state as saved, not from what the failed one changed in memory.
func TestRunnerFailedPassKeepsRetryAfterAndReloads(t *testing.T) {
	f := newFakes(1)
	env, now := testEnv(t, f, "")
	rn := testRunner(t, env)
	run, err := rn.Open(OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if _, err := run.Pass(context.Background(), env, Options{}); err != nil {
		t.Fatal(err)
	}
	// Graph asked to wait a minute, then STARFACE's user list fails: the pass fails as a whole.
	f.SetNotBefore(now.Add(time.Minute))
	f.fail["users"] = errors.New("503 service unavailable")
	*now = now.Add(10 * time.Second)
	if _, err := run.Pass(context.Background(), env, Options{RefreshUsers: true}); err == nil {
		t.Fatal("the pass did not fail")
	}
	st, _, err := state.ReadOnly(rn.Dir)
	if err != nil || !st.GraphNotBefore().Equal(now.Add(50*time.Second)) {
		t.Errorf("saved Retry-After %v (%v), want %v", st.GraphNotBefore(), err, now.Add(50*time.Second))
	}

	// A killed run switched 0002's DND on; the next pass settles that in memory, then fails
	// (no Retry-After to keep this time, so nothing is saved). The run goes on from the state as
	// saved, the intent still open, and the pass after it settles it again.
	f.SetNotBefore(time.Time{})
	*now = now.Add(time.Minute) // past the Retry-After: a pass that succeeds forgets it
	if _, err := run.Pass(context.Background(), env, Options{}); err != nil {
		t.Fatal(err)
	}
	f.setDND(2, true)
	in := `{"login":"0002","starface_id":2,"want":true,"at":"2026-11-23T09:00:00Z"}` + "\n"
	if err := os.WriteFile(filepath.Join(rn.Dir, "journal"), []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	f.fail["users"] = errors.New("503 service unavailable")
	*now = now.Add(time.Minute)
	if _, err := run.Pass(context.Background(), env, Options{RefreshUsers: true}); err == nil {
		t.Fatal("the pass did not fail")
	}
	if run.st.User("0002").Owned() {
		t.Error("the failed pass's settlement stayed in memory: the state was not read again")
	}
	// Settled as teamsface's, the DND is released: 0002 is Available in Teams.
	if _, err := run.Pass(context.Background(), env, Options{}); err != nil || f.dnd(2) {
		t.Errorf("the pass after it: %v, 0002's DND on %t; want it settled as teamsface's and released", err, f.dnd(2))
	}
}

// Release puts back and forgets; a read-only release plans it and changes nothing.
func TestRunnerRelease(t *testing.T) {
	f := newFakes(2)
	env, _ := testEnv(t, f, "")
	rn := testRunner(t, env)
	f.setPresence("e-2", "Busy", "InACall")
	run, err := rn.Open(OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Pass(context.Background(), env, Options{}); err != nil {
		t.Fatal(err)
	}
	run.Close()
	dry, err := rn.Open(OpenOptions{Mode: ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := dry.Release(context.Background(), env)
	if err != nil || rep.Summary.Released != 1 || !f.dnd(2) || rep.Withheld == nil || rep.Withheld.Pending()[ServiceStarface] != 1 {
		t.Fatalf("dry release: %+v %v, DND %t", rep, err, f.dnd(2))
	}
	run, err = rn.Open(OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	rep, err = run.Release(context.Background(), env)
	if err != nil || rep.Summary.Released != 1 || f.dnd(2) || rep.Remembered != 0 {
		t.Fatalf("release: %+v %v", rep, err)
	}
	st, _, _ := state.ReadOnly(rn.Dir)
	if st.Len() != 0 || st.Match() != nil {
		t.Errorf("after the release the state remembers %v and a match %v", st.Logins(), st.Match() != nil)
	}
}

// Presence plans the users asked about, each once, reading their phones; it changes nothing.
func TestRunnerPresence(t *testing.T) {
	f := newFakes(3)
	env, _ := testEnv(t, f, "")
	rn := testRunner(t, env)
	f.setPresence("e-3", "Busy", "InACall")
	run, err := rn.Open(OpenOptions{Mode: ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	v, err := run.Presence(context.Background(), env, []string{"0003", "u3@contoso.example", "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Users) != 1 || v.Users[0].Login != "0003" || v.Users[0].DND != mapping.DNDSwitchOn || len(v.Problems) != 1 {
		t.Errorf("view: %d users, problems %v", len(v.Users), v.Problems)
	}
	if f.count("put 3") != 0 || f.count("get 3") != 1 {
		t.Errorf("presence get: %v", f.calls)
	}
}
