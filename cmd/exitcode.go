package cmd

import (
	"errors"
	"fmt"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

// Exit codes, as documented in `teamsface help exit-codes` and DESIGN.md. Every error maps to one
// of them here and nowhere else.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
	ExitPartial = 3
	ExitAuth    = 4
	ExitLocked  = 5
	// ExitChanges is `sync once --dry-run --detailed-exitcode` only: the plan would change
	// something (CI: changes pending).
	ExitChanges = 6
)

// exitCodeHelp is the text of `teamsface help exit-codes`.
const exitCodeHelp = `Exit codes:
  0  success, including "nothing to change"
  1  failure: a service unreachable or erroring after retries, a TLS failure (a pinned
     fingerprint that does not match included), a corrupt state file, an unexpected error;
     presence get: none of the users named was found
  2  usage or configuration error: bad flag, invalid YAML, unknown key or value, missing secret;
     a state directory that belongs to another user (run teamsface as its owner)
  3  partial: the pass finished but some users failed (they are retried next pass); Graph
     asked to wait (Retry-After) past the run, so everyone was kept until then;
     users match --fail-on-unmatched found unmatched users; mapping check: a test failed;
     presence get: some of the users named were not found (the others are shown)
  4  authentication: no usable token, credentials rejected, a Graph permission missing
  5  another teamsface run holds the state lock (after --lock-timeout); the message names it
     (pid, command line, since when) once it has held the lock for 2 s
  6  sync once --dry-run --detailed-exitcode only: the plan would change something (for CI:
     changes pending); 0 then means it would change nothing

A 401/403 on something the whole run depends on (sign-in, presence read, user or group lists)
is 4; a failure on one user's write counts as that user's failure (3). sync watch stopped by
SIGINT or SIGTERM exits 0.
`

// usageError is a mistake in how teamsface was called (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// partialError says the command finished but something in it failed (exit 3). The details were
// already printed; Error is the one-line summary for stderr.
type partialError struct{ msg string }

func (e *partialError) Error() string { return e.msg }

// notFoundError: none of the users a command was asked about was found (exit 1, as kubectl get
// and gh answer "not found"). When some were found and shown, it is a partialError (3).
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// usersNotFound is the error of a command asked about users of whom missing were not found
// (the reason for each was printed) and shown were: 1 when it found none, 3 when it showed some.
func usersNotFound(missing, shown int) error {
	msg := fmt.Sprintf("%s not found among the matched users (see teamsface users match)", plural(missing, "user", "users"))
	if shown == 0 {
		return &notFoundError{msg}
	}
	return &partialError{msg}
}

// changesPendingError: a dry run's plan would write to a service (exit 6 with
// --detailed-exitcode). Its message is the one-line summary a CI job shows.
type changesPendingError struct{ msg string }

func (e *changesPendingError) Error() string { return e.msg }

// authError is an authentication problem found by cmd itself (exit 4), e.g. a missing permission.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var (
		usage   *usageError
		cfgErr  *mapping.ConfigError
		partial *partialError
		auth    *authError
		gAuth   *graph.AuthError
		sfAuth  *starface.AuthError
		gErr    *graph.Error
		sfErr   *starface.Error
		gCfg    *graph.ConfigError
		sfGroup *starface.GroupNotFoundError
		// A state directory another user owns (a run as root, by mistake): refused before
		// anything in it was read or written.
		owner *state.OwnerError
		// Graph asked to wait (Retry-After) longer than a run waits: nothing failed, everyone
		// was kept, and the run says until when.
		throttled *graph.ThrottledError
		notFound  *notFoundError
		changes   *changesPendingError
	)
	switch {
	case errors.As(err, &usage), errors.As(err, &cfgErr), errors.As(err, &gCfg), errors.As(err, &sfGroup), errors.As(err, &owner):
		return ExitUsage
	case errors.As(err, &throttled):
		return ExitPartial
	case errors.Is(err, state.ErrLocked):
		return ExitLocked
	case errors.As(err, &auth), errors.As(err, &gAuth), errors.As(err, &sfAuth):
		return ExitAuth
	case errors.As(err, &gErr) && (gErr.Status == 401 || gErr.Status == 403):
		return ExitAuth
	case errors.As(err, &sfErr) && (sfErr.Status == 401 || sfErr.Status == 403):
		return ExitAuth
	case errors.As(err, &partial), errors.As(err, &throttled):
		return ExitPartial
	case errors.As(err, &notFound):
		return ExitFailure
	case errors.As(err, &changes):
		return ExitChanges
	}
	return ExitFailure
}
