package state

import (
	"time"
)

// The on-disk form of state.json. It is kept apart from State and User so
// that the format is versioned on its own and nothing outside this package
// can reach a user's fields.

type wireState struct {
	Version  int                  `json:"version"`
	Users    map[string]*wireUser `json:"users"`
	Match    *MatchCache          `json:"match,omitempty"`
	LastPass time.Time            `json:"last_pass,omitzero"`
}

type wireUser struct {
	StarfaceID int          `json:"starface_id"`
	EntraID    string       `json:"entra_id,omitempty"`
	UPN        string       `json:"upn,omitempty"`
	Applied    string       `json:"applied,omitempty"`
	Written    *bool        `json:"written,omitempty"`
	Owned      bool         `json:"owned,omitempty"`
	Replaced   bool         `json:"replaced,omitempty"`
	DND        *bool        `json:"dnd,omitempty"`
	DNDReadAt  time.Time    `json:"dnd_read_at,omitzero"`
	Session    *wireSession `json:"session,omitempty"`
	Failures   int          `json:"failures,omitempty"`
	LastError  string       `json:"last_error,omitempty"`
}

type wireSession struct {
	EntraID      string    `json:"entra_id,omitempty"`
	Availability string    `json:"availability"`
	Activity     string    `json:"activity"`
	SetAt        time.Time `json:"set_at"`
	Expires      time.Time `json:"expires"`
	ClearedAt    time.Time `json:"cleared_at,omitzero"`
}

func toWire(st *State) *wireState {
	w := &wireState{Version: Version, Users: make(map[string]*wireUser, len(st.users)), Match: st.Match, LastPass: st.LastPass}
	for login, u := range st.users {
		wu := &wireUser{StarfaceID: u.starfaceID, EntraID: u.entraID, UPN: u.upn, Applied: u.applied,
			Written: u.written, Owned: u.owned, Replaced: u.replaced, DND: u.dnd, DNDReadAt: u.dndReadAt,
			Failures: u.failures, LastError: u.lastError}
		if s := u.session; s != nil {
			wu.Session = &wireSession{EntraID: s.EntraID, Availability: s.Availability, Activity: s.Activity,
				SetAt: s.SetAt, Expires: s.Expires, ClearedAt: s.ClearedAt}
		}
		w.Users[login] = wu
	}
	return w
}

func fromWire(w *wireState) *State {
	st := &State{users: make(map[string]*User, len(w.Users)), Match: w.Match, LastPass: w.LastPass}
	for login, wu := range w.Users {
		if wu == nil {
			continue
		}
		u := &User{starfaceID: wu.StarfaceID, entraID: wu.EntraID, upn: wu.UPN, applied: wu.Applied,
			written: wu.Written, owned: wu.Owned, replaced: wu.Replaced, dnd: wu.DND, dndReadAt: wu.DNDReadAt,
			failures: wu.Failures, lastError: wu.LastError}
		if s := wu.Session; s != nil {
			u.session = &Session{EntraID: s.EntraID, Availability: s.Availability, Activity: s.Activity,
				SetAt: s.SetAt, Expires: s.Expires, ClearedAt: s.ClearedAt}
			if u.session.EntraID == "" {
				// Written before sessions recorded their Entra user: it was set on the
				// user's match of that time.
				u.session.EntraID = wu.EntraID
			}
		}
		st.users[login] = u
	}
	return st
}
