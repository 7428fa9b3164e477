package graph_test

import (
	"encoding/json"
	"testing"

	"github.com/teamsface/teamsface/graph"
)

// isOutOfOffice is read off the settings' top level, whatever else they hold; a shape Graph does
// not send counts as not out of office.
func TestOutOfOfficeSettingsDecoding(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{"message":null,"isOutOfOffice":true}`, true},
		{`{"isOutOfOffice":false,"message":"back on Monday"}`, false},
		{` { "message" : "x" , "isOutOfOffice" : true } `, true},
		{`{"message":"I wrote \"isOutOfOffice\":true in here","isOutOfOffice":false}`, false},
		{`{"message":"a backslash at the end \\","isOutOfOffice":true}`, true},
		{`{"message":{"isOutOfOffice":true,"more":[1,{"a":"]"}]},"isOutOfOffice":false}`, false},
		{`{"message":[{"isOutOfOffice":true}],"isOutOfOffice":true}`, true},
		{`{"isOutOfOffice":"true"}`, false},
		{`{"isOutOfOffice":null}`, false},
		{`{}`, false},
		{`null`, false},
		{`"out"`, false},
		{`[true]`, false},
		{`true`, false},
	} {
		var p graph.Presence
		doc := `{"id":"x","availability":"Away","activity":"Away","outOfOfficeSettings":` + tc.in + `}`
		if err := json.Unmarshal([]byte(doc), &p); err != nil || p.IsOutOfOffice != tc.want || p.Availability != "Away" {
			t.Errorf("in a presence, %s: %+v, %v", tc.in, p, err)
		}
	}
}
