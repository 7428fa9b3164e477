package graph_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/mapping"
)

// outOfOffice is what the mapping makes of a presence read: the whole out-of-office signal.
func outOfOffice(p graph.Presence) bool {
	return mapping.Presence{Availability: p.Availability, Activity: p.Activity, OutOfOffice: p.IsOutOfOffice}.IsOutOfOffice()
}

// A user is out of office while outOfOfficeSettings.isOutOfOffice is true or the activity is
// OutOfOffice; settings that are missing, null or of another shape leave the activity alone to
// decide, and never fail the answer.
func TestPresenceOutOfOffice(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		isOOO    bool // IsOutOfOffice
		out      bool // OutOfOffice()
		activity string
	}{
		{"Microsoft's example: settings on, activity Away",
			`{"id":"u1","availability":"Away","activity":"Away","outOfOfficeSettings":{"message":null,"isOutOfOffice":true}}`, true, true, "Away"},
		{"settings off",
			`{"id":"u1","availability":"Available","activity":"Available","outOfOfficeSettings":{"message":null,"isOutOfOffice":false}}`, false, false, "Available"},
		{"activity OutOfOffice, settings off",
			`{"id":"u1","availability":"Offline","activity":"OutOfOffice","outOfOfficeSettings":{"message":null,"isOutOfOffice":false}}`, false, true, "OutOfOffice"},
		{"activity OutOfOffice, settings missing (older answer)",
			`{"id":"u1","availability":"Offline","activity":"OutOfOffice"}`, false, true, "OutOfOffice"},
		{"settings missing", `{"id":"u1","availability":"Busy","activity":"InACall"}`, false, false, "InACall"},
		{"settings null", `{"id":"u1","availability":"Away","activity":"Away","outOfOfficeSettings":null}`, false, false, "Away"},
		{"isOutOfOffice null", `{"id":"u1","availability":"Away","activity":"Away","outOfOfficeSettings":{"isOutOfOffice":null}}`, false, false, "Away"},
		{"isOutOfOffice missing, a message", `{"id":"u1","availability":"Away","activity":"Away","outOfOfficeSettings":{"message":"Back on Monday"}}`, false, false, "Away"},
		{"settings of another shape", `{"id":"u1","availability":"Away","activity":"Away","outOfOfficeSettings":"yes"}`, false, false, "Away"},
		{"isOutOfOffice as a string", `{"id":"u1","availability":"Away","activity":"Away","outOfOfficeSettings":{"isOutOfOffice":"true"}}`, false, false, "Away"},
		{"with a message and more fields", `{"id":"u1","availability":"Away","activity":"Away","sequenceNumber":"C","statusMessage":null,` +
			`"outOfOfficeSettings":{"message":"Back on Monday","isOutOfOffice":true,"extra":1},"workLocation":{"workLocationType":"office"}}`, true, true, "Away"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p graph.Presence
			if err := json.Unmarshal([]byte(tt.json), &p); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if p.ID != "u1" || p.Activity != tt.activity || p.IsOutOfOffice != tt.isOOO || outOfOffice(p) != tt.out {
				t.Errorf("got %+v, OutOfOffice() = %t; want activity %s, IsOutOfOffice %t, OutOfOffice() %t",
					p, outOfOffice(p), tt.activity, tt.isOOO, tt.out)
			}
			// The round trip through JSON keeps the signal and never carries the message.
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var again graph.Presence
			if err := json.Unmarshal(b, &again); err != nil || again != p {
				t.Errorf("round trip %s: %+v, %v; want %+v", b, again, err, p)
			}
			if strings.Contains(string(b)+fmt.Sprintf("%+v %#v", p, p), "Monday") {
				t.Errorf("the automatic reply is kept: %s %+v", b, p)
			}
		})
	}
}

// The bulk read carries the signal as the double serves it, and a user whose answer has no
// settings is out of office by the activity alone.
func TestGetPresencesOutOfOffice(t *testing.T) {
	e := newEnv(t, everything, nil)
	e.s.AddUser(graphtest.User{ID: guid(1), Availability: "Away", Activity: "Away"})
	e.s.AddUser(graphtest.User{ID: guid(2), Availability: "Available", Activity: "Available"})
	e.s.AddUser(graphtest.User{ID: guid(3), Availability: "Offline", Activity: "OutOfOffice"})
	e.s.SetUserOutOfOffice(guid(1), true)
	ids := []string{guid(1), guid(2), guid(3)}
	want := map[string]bool{guid(1): true, guid(2): false, guid(3): true}
	read := func(step string, want map[string]bool) {
		t.Helper()
		res, err := e.c.GetPresences(t.Context(), ids)
		if err != nil {
			t.Fatal(err)
		}
		for id, w := range want {
			if got := outOfOffice(res.Presences[id]); got != w {
				t.Errorf("%s: %s OutOfOffice() = %t, want %t (%+v)", step, id, got, w, res.Presences[id])
			}
		}
	}
	read("settings served", want)
	e.s.OmitOutOfOfficeSettings(true)
	read("settings left out", map[string]bool{guid(1): false, guid(2): false, guid(3): true})
	e.s.OmitOutOfOfficeSettings(false)
	e.s.SetUserOutOfOffice(guid(1), false)
	read("back", map[string]bool{guid(1): false, guid(2): false, guid(3): true})
}
