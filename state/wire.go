package state

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// The on-disk forms of state.json and match.json. They are kept apart from
// State and User so that the format is versioned on its own and nothing
// outside this package can reach a user's fields.

// wireState is state.json, version 3: compact (no indentation, short fields,
// nothing that changes every pass), about 50 bytes per user. Version 2 is the
// same without the redirects, and is read as it is.
type wireState struct {
	Version        int                  `json:"version"`
	Users          map[string]*wireUser `json:"users"`
	GraphNotBefore time.Time            `json:"graph_not_before,omitzero"`
}

type wireUser struct {
	StarfaceID int          `json:"id"`
	Applied    string       `json:"applied,omitempty"`
	Written    *bool        `json:"written,omitempty"`
	Owned      bool         `json:"owned,omitempty"`
	Replaced   bool         `json:"replaced,omitempty"`
	Session    *wireSession `json:"session,omitempty"`
	Failures   int          `json:"failures,omitempty"`
	// FailingSince is when the failures started; the count is saved only with other changes.
	FailingSince time.Time `json:"failing_since,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	// Redirect is the out-of-office decision last applied; Redirects the redirects teamsface
	// owns (version 3).
	Redirect  string         `json:"redirect,omitempty"`
	Redirects []wireRedirect `json:"redirects,omitempty"`
}

type wireRedirect struct {
	ID     string          `json:"id"`
	Before json.RawMessage `json:"before"`
	Wrote  json.RawMessage `json:"wrote"`
}

type wireSession struct {
	EntraID      string    `json:"entra_id"`
	Availability string    `json:"availability"`
	Activity     string    `json:"activity"`
	Expires      time.Time `json:"expires"`
	ClearedAt    time.Time `json:"cleared_at,omitzero"`
}

// wireMatch is match.json: the cached user match.
type wireMatch struct {
	Version int `json:"version"`
	*MatchCache
}

func toWire(st *State) *wireState {
	w := &wireState{Version: Version, Users: make(map[string]*wireUser, len(st.users)), GraphNotBefore: st.graphNotBefore}
	for login, u := range st.users {
		wu := &wireUser{StarfaceID: u.starfaceID, Applied: u.applied, Written: u.written, Owned: u.owned,
			Replaced: u.replaced, Failures: u.failures, LastError: u.lastError, FailingSince: u.failingSince,
			Redirect: u.redirectApplied}
		for _, r := range u.redirects {
			wu.Redirects = append(wu.Redirects, wireRedirect{ID: r.ID, Before: r.Before, Wrote: r.Wrote})
		}
		if s := u.session; s != nil {
			wu.Session = &wireSession{EntraID: s.EntraID, Availability: s.Availability, Activity: s.Activity,
				Expires: s.Expires, ClearedAt: s.ClearedAt}
		}
		w.Users[login] = wu
	}
	return w
}

func fromWire(w *wireState) *State {
	st := &State{users: make(map[string]*User, len(w.Users)), graphNotBefore: w.GraphNotBefore}
	for login, wu := range w.Users {
		if wu == nil {
			continue
		}
		u := &User{st: st, starfaceID: wu.StarfaceID, applied: wu.Applied, written: wu.Written, owned: wu.Owned,
			replaced: wu.Replaced, failures: wu.Failures, lastError: wu.LastError, failingSince: wu.FailingSince,
			redirectApplied: wu.Redirect}
		for _, r := range wu.Redirects {
			if r.ID != "" {
				u.redirects = append(u.redirects, OwnedRedirect{ID: r.ID, Before: r.Before, Wrote: r.Wrote})
			}
		}
		slices.SortFunc(u.redirects, func(a, b OwnedRedirect) int { return strings.Compare(a.ID, b.ID) })
		if s := wu.Session; s != nil {
			u.session = &Session{EntraID: s.EntraID, Availability: s.Availability, Activity: s.Activity,
				Expires: s.Expires, ClearedAt: s.ClearedAt}
		}
		st.users[login] = u
	}
	return st
}

// wireStateV1 is state.json as teamsface wrote it before version 2:
// indented, with the match cache inside, the Teams presence last seen and the
// DND last read per user. Upgrading keeps what version 2 remembers.
type wireStateV1 struct {
	Version int `json:"version"`
	Users   map[string]*struct {
		StarfaceID int    `json:"starface_id"`
		EntraID    string `json:"entra_id"`
		Applied    string `json:"applied"`
		Written    *bool  `json:"written"`
		Owned      bool   `json:"owned"`
		Replaced   bool   `json:"replaced"`
		Session    *struct {
			Availability string    `json:"availability"`
			Activity     string    `json:"activity"`
			Expires      time.Time `json:"expires"`
			ClearedAt    time.Time `json:"cleared_at"`
		} `json:"session"`
		Failures  int    `json:"failures"`
		LastError string `json:"last_error"`
	} `json:"users"`
	Match *MatchCache `json:"match"`
}

// upgradeV1 reads a version-1 file. The match it held moves to match.json
// and the upgraded state is written on the next Save.
func upgradeV1(raw []byte) (*State, error) {
	var v1 wireStateV1
	if err := json.Unmarshal(raw, &v1); err != nil {
		return nil, err
	}
	w := &wireState{Version: Version, Users: map[string]*wireUser{}}
	for login, u := range v1.Users {
		if u == nil {
			continue
		}
		wu := &wireUser{StarfaceID: u.StarfaceID, Applied: u.Applied, Written: u.Written, Owned: u.Owned,
			Replaced: u.Replaced, Failures: u.Failures, LastError: u.LastError}
		if s := u.Session; s != nil {
			// Version 1 set sessions on the login's match of the time.
			wu.Session = &wireSession{EntraID: u.EntraID, Availability: s.Availability, Activity: s.Activity,
				Expires: s.Expires, ClearedAt: s.ClearedAt}
		}
		w.Users[login] = wu
	}
	st := fromWire(w)
	st.dirty = true
	if v1.Match != nil {
		st.match, st.matchDirty = v1.Match, true
	}
	return st, nil
}

var errNoVersion = errors.New("no version")
