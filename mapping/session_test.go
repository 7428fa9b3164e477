package mapping

import (
	"testing"
	"time"
)

func TestPlanSession(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	s2t := StarfaceToTeams{Enabled: true, OnDND: DefaultOnDND(), Expiration: 15 * time.Minute,
		OnCall: Pair{"Busy", "InACall"}}
	fresh := &Session{Pair: DefaultOnDND(), Expires: now.Add(14 * time.Minute)}
	due := &Session{Pair: DefaultOnDND(), Expires: now.Add(7 * time.Minute)}
	callSession := &Session{Pair: Pair{"Busy", "InACall"}, Expires: now.Add(14 * time.Minute)}
	for _, tc := range []struct {
		name string
		s2t  StarfaceToTeams
		f    SessionFacts
		want SessionStep
		pair Pair
	}{
		{"DND pressed at the phone shows in Teams", s2t,
			SessionFacts{DND: true, DNDKnown: true}, SessionSet, DefaultOnDND()},
		{"a DND teamsface switched on is not shown back in Teams", s2t,
			SessionFacts{DND: true, DNDKnown: true, Owned: true}, SessionNothing, Pair{}},
		{"a fresh session is left alone", s2t,
			SessionFacts{DND: true, DNDKnown: true, Live: fresh}, SessionNothing, DefaultOnDND()},
		{"a session with less than half its time left is refreshed", s2t,
			SessionFacts{DND: true, DNDKnown: true, Live: due}, SessionRefresh, DefaultOnDND()},
		{"DND switched off at the phone clears the session", s2t,
			SessionFacts{DND: false, DNDKnown: true, Live: fresh}, SessionClear, Pair{}},
		{"DND not read this pass: the session stays as it is", s2t,
			SessionFacts{Live: fresh}, SessionNothing, Pair{}},
		{"a user leaving the match has the session cleared", s2t,
			SessionFacts{Leaving: true, DND: true, DNDKnown: true, Live: fresh}, SessionClear, Pair{}},
		{"a user leaving without a session: nothing", s2t,
			SessionFacts{Leaving: true, DND: true, DNDKnown: true}, SessionNothing, Pair{}},
		{"the direction switched off clears what is left", StarfaceToTeams{Expiration: 15 * time.Minute},
			SessionFacts{DND: true, DNDKnown: true, Live: fresh}, SessionClear, Pair{}},
		{"a STARFACE call shows as on_call", s2t,
			SessionFacts{DNDKnown: true, OnCall: true, CallKnown: true, OneHub: true}, SessionSet, Pair{"Busy", "InACall"}},
		{"a hand-set DND wins over a call", s2t,
			SessionFacts{DND: true, DNDKnown: true, OnCall: true, CallKnown: true, OneHub: true, Live: callSession}, SessionSet, DefaultOnDND()},
		{"the call ends: the session is cleared", s2t,
			SessionFacts{DNDKnown: true, CallKnown: true, OneHub: true, Live: callSession}, SessionClear, Pair{}},
		{"OneHub down: a call's session stays rather than flapping", s2t,
			SessionFacts{DNDKnown: true, OneHub: true, Live: callSession}, SessionNothing, Pair{}},
		{"without on_call a call shows nothing", StarfaceToTeams{Enabled: true, OnDND: DefaultOnDND(), Expiration: 15 * time.Minute},
			SessionFacts{DNDKnown: true, OnCall: true, CallKnown: true, OneHub: true}, SessionNothing, Pair{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Now = now
			got := tc.s2t.PlanSession(tc.f)
			if got.Step != tc.want || got.Pair != tc.pair {
				t.Errorf("PlanSession = %+v, want step %d pair %v", got, tc.want, tc.pair)
			}
			if got.Step != SessionNothing && got.Reason == "" {
				t.Errorf("step %d without a reason", got.Step)
			}
		})
	}
}

func TestOutranked(t *testing.T) {
	dnd := DefaultOnDND()
	for _, tc := range []struct {
		shown Presence
		want  bool
	}{
		{Presence{Availability: "DoNotDisturb", Activity: "Presenting"}, false}, // the session itself
		{Presence{Availability: "Available", Activity: "Available"}, true},      // picked by hand in Teams
		{Presence{Availability: "Busy", Activity: "InACall"}, true},             // ranks below DND: only by hand
		{Presence{Availability: "DoNotDisturb", Activity: "DoNotDisturb"}, false},
		{Presence{Availability: "SomethingNew", Activity: "New"}, false}, // unknown ranks: no claim
	} {
		if got := Outranked(dnd, tc.shown); got != tc.want {
			t.Errorf("Outranked(%v, %v) = %t, want %t", dnd, tc.shown, got, tc.want)
		}
	}
}
