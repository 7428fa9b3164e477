package cmd

import (
	"context"
	"os"
	"testing"
)

// TestMain does two things for the package's tests.
//
// With TEAMSFACE_TEST_MAIN=1 in its environment the test binary is teamsface itself, with the
// arguments given: a test runs it as a process of its own for what only a real process shows
// (a SIGKILL in the middle of a run).
//
// Otherwise it puts the temporary directories (t.TempDir, the scripts' $WORK, the demo's state)
// on tmpfs where Linux offers one, unless TMPDIR says otherwise. Every pass saves its state with
// fsync; on a busy disk those fsyncs were about two of the package's three seconds of tests once
// the real sleeps were gone. On tmpfs an fsync costs nothing, and no test here can observe one:
// what is on disk after a rename is the same either way (the state package's own tests are about
// atomic replacement, and they keep the default directory).
func TestMain(m *testing.M) {
	if os.Getenv("TEAMSFACE_TEST_MAIN") == "1" {
		os.Exit(Execute(context.Background()))
	}
	if os.Getenv("TMPDIR") == "" {
		if dir, err := os.MkdirTemp("/dev/shm", "teamsface-cmd-test-"); err == nil {
			os.Setenv("TMPDIR", dir)
			code := m.Run()
			os.RemoveAll(dir)
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}
