package graphtest

import (
	"reflect"
	"testing"
	"time"
)

// The double serves outOfOfficeSettings as Microsoft's example does, in the bulk answer and the
// single read alike, independent of the activity; or leaves it out.
func TestOutOfOfficeSettings(t *testing.T) {
	tests := []struct {
		name  string
		setup func(s *Server)
		want  any // the outOfOfficeSettings value; nil: the key must be absent
	}{
		{"default", func(*Server) {}, map[string]any{"message": nil, "isOutOfOffice": false}},
		{"on while the activity is Away", func(s *Server) { s.SetUserOutOfOffice("u1", true) },
			map[string]any{"message": nil, "isOutOfOffice": true}},
		{"on and off again", func(s *Server) { s.SetUserOutOfOffice("u1", true); s.SetUserOutOfOffice("u1", false) },
			map[string]any{"message": nil, "isOutOfOffice": false}},
		{"with a message", func(s *Server) {
			s.AddUser(User{ID: "u1", Availability: "Away", Activity: "Away", OutOfOffice: true, OutOfOfficeMessage: "Back on Monday"})
		}, map[string]any{"message": "Back on Monday", "isOutOfOffice": true}},
		{"left out", func(s *Server) { s.SetUserOutOfOffice("u1", true); s.OmitOutOfOfficeSettings(true) }, nil},
		{"served again", func(s *Server) { s.OmitOutOfOfficeSettings(true); s.OmitOutOfOfficeSettings(false) },
			map[string]any{"message": nil, "isOutOfOffice": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer()
			t.Cleanup(s.Close)
			s.AddUser(User{ID: "u1", Availability: "Away", Activity: "Away"})
			tt.setup(s)
			tok := s.IssueToken(allPerms, false, time.Hour)
			status, bulk := call(t, s, "POST", "/v1.0/communications/getPresencesByUserId", tok, nil, `{"ids":["u1"]}`)
			if status != 200 {
				t.Fatalf("getPresencesByUserId: %d %v", status, bulk)
			}
			values, _ := bulk["value"].([]any)
			if len(values) != 1 {
				t.Fatalf("value = %v", bulk["value"])
			}
			status, single := call(t, s, "GET", "/v1.0/users/u1/presence", tok, nil, "")
			if status != 200 {
				t.Fatalf("GET presence: %d %v", status, single)
			}
			for what, p := range map[string]map[string]any{"bulk": values[0].(map[string]any), "single": single} {
				got, ok := p["outOfOfficeSettings"]
				if tt.want == nil {
					if ok {
						t.Errorf("%s: outOfOfficeSettings = %v, want it left out", what, got)
					}
				} else if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s: outOfOfficeSettings = %v, want %v", what, got, tt.want)
				}
				if p["activity"] != "Away" {
					t.Errorf("%s: activity = %v, want Away (out of office does not change it)", what, p["activity"])
				}
			}
		})
	}
}

func TestSetUserOutOfOfficeUnknownUser(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	defer func() {
		if recover() == nil {
			t.Error("SetUserOutOfOffice of an unknown user did not panic")
		}
	}()
	s.SetUserOutOfOffice("nobody", true)
}
