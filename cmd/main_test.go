package cmd

import (
	"context"
	"os"
	"testing"
)

// TestMain lets a test run this test binary as teamsface itself, in a process of its own, for
// what only a real process shows (a SIGKILL in the middle of a run): with TEAMSFACE_TEST_MAIN=1
// in its environment the binary is teamsface, with the arguments given.
func TestMain(m *testing.M) {
	if os.Getenv("TEAMSFACE_TEST_MAIN") == "1" {
		os.Exit(Execute(context.Background()))
	}
	os.Exit(m.Run())
}
