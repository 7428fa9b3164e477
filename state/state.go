// Package state remembers what teamsface did between runs: which Teams
// presence it last saw, which STARFACE DND it switched on (and may therefore
// switch back), the cached user match and the reverse-direction presence
// sessions.
//
// Everything lives in one state directory (0700): state.json, written
// atomically; journal, a small append-only file of intents recorded before a
// STARFACE write and settled by the next Save; and lock, an OS file lock held
// for the whole run so that two runs never interleave. A run killed at any
// point leaves either the old or the new state.json, and every STARFACE write
// it may have made is either in state.json or in the journal.
//
// The package holds plain data only: it knows neither the Graph nor the
// STARFACE client nor the mapping rules.
package state

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Version is the state.json format this teamsface writes and the newest it
// reads.
const Version = 1

// State is the content of state.json.
type State struct {
	Version int              `json:"version"`
	Users   map[string]*User `json:"users"`           // by STARFACE login
	Match   *MatchCache      `json:"match,omitempty"` // cached user match
	// LastPass is when the last pass finished; it tells a cron-run pass how often passes come.
	LastPass time.Time `json:"last_pass,omitzero"`
}

// New returns an empty state of the current version.
func New() *State {
	return &State{Version: Version, Users: map[string]*User{}}
}

// User is what teamsface remembers about one STARFACE user.
type User struct {
	StarfaceID   int       `json:"starface_id"`
	EntraID      string    `json:"entra_id,omitempty"`
	UPN          string    `json:"upn,omitempty"`
	Availability string    `json:"availability,omitempty"` // Teams presence last seen
	Activity     string    `json:"activity,omitempty"`
	Applied      string    `json:"applied,omitempty"`  // the decision ("on"/"off") last applied successfully
	Written      *bool     `json:"written,omitempty"`  // the DND value teamsface last wrote
	Owned        bool      `json:"owned,omitempty"`    // teamsface switched DND on and may switch it back
	Replaced     bool      `json:"replaced,omitempty"` // the DND value it replaced
	DND          *bool     `json:"dnd,omitempty"`      // DND last read from STARFACE
	DNDReadAt    time.Time `json:"dnd_read_at,omitzero"`
	Session      *Session  `json:"session,omitempty"`  // STARFACE → Teams presence session
	Failures     int       `json:"failures,omitempty"` // consecutive failed passes
	LastError    string    `json:"last_error,omitempty"`
}

// Session is a STARFACE → Teams presence session teamsface set for a user.
// ClearedAt is set once the session was cleared; the pair is still taken for
// teamsface's own echo for a while after that (echo_guard).
type Session struct {
	Availability string    `json:"availability"`
	Activity     string    `json:"activity"`
	SetAt        time.Time `json:"set_at"`
	Expires      time.Time `json:"expires"`
	ClearedAt    time.Time `json:"cleared_at,omitzero"`
}

// MatchCache is the cached STARFACE ↔ Entra user match and when it was made.
type MatchCache struct {
	Time time.Time `json:"time"`
	// Key identifies the configuration the match was made with; another key means match anew.
	Key     string       `json:"key,omitempty"`
	Entries []MatchEntry `json:"entries"`
}

// MatchEntry is one STARFACE user's match; the fields follow the JSON of
// `users match`.
type MatchEntry struct {
	Login      string `json:"login"`
	StarfaceID int    `json:"starface_id"`
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Status     string `json:"status"`
	Basis      string `json:"basis,omitempty"`
	Reason     string `json:"reason,omitempty"`
	EntraID    string `json:"entra_id,omitempty"`
	UPN        string `json:"upn,omitempty"`
}

// Intent is a STARFACE DND write about to be made. It is recorded in the
// journal before the write and settled by the next Save, so that a run killed
// between the write and the Save still knows the write may have happened:
// if the phone now shows Want and Before differed, teamsface wrote it.
type Intent struct {
	Login      string    `json:"login"`
	StarfaceID int       `json:"starface_id"`
	Want       bool      `json:"want"`   // DND value about to be written
	Before     bool      `json:"before"` // DND value just read
	At         time.Time `json:"at"`
}

// DefaultDir returns the state directory used when --state-dir is not given:
// $TEAMSFACE_STATE_DIR, else $XDG_STATE_HOME/teamsface, else
// ~/.local/state/teamsface (Windows: %LOCALAPPDATA%\teamsface).
func DefaultDir() (string, error) {
	return defaultDir(runtime.GOOS, os.Getenv, os.UserHomeDir)
}

func defaultDir(goos string, getenv func(string) string, home func() (string, error)) (string, error) {
	if d := getenv("TEAMSFACE_STATE_DIR"); d != "" {
		return d, nil
	}
	if goos == "windows" {
		if d := getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "teamsface"), nil
		}
		return "", errors.New("state: no state directory: neither TEAMSFACE_STATE_DIR nor LOCALAPPDATA is set; use --state-dir")
	}
	// The XDG base directory spec says a relative path is invalid and must be
	// ignored.
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "teamsface"), nil
	}
	h, err := home()
	if err != nil || h == "" {
		return "", errors.New("state: no state directory: TEAMSFACE_STATE_DIR, XDG_STATE_HOME and HOME are unset; use --state-dir")
	}
	return filepath.Join(h, ".local", "state", "teamsface"), nil
}
