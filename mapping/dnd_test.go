package mapping

import "testing"

func TestPlanDND(t *testing.T) {
	on, off := true, false
	nothing := DNDMemory{}
	ownedOn := DNDMemory{Applied: DNDOn, Owned: true, Replaced: false}
	appliedOff := DNDMemory{Applied: DNDOff}
	handOn := DNDMemory{Applied: DNDOn} // on, by hand: applied without ownership
	for _, tc := range []struct {
		name    string
		d       DND
		m       DNDMemory
		leaving bool
		phone   *bool
		want    DNDPlan
	}{
		{"a Teams call while the phone is off switches DND on and owns it", DNDOn, nothing, false, &off,
			DNDPlan{Step: DNDSwitchOn, Want: true, Before: false}},
		{"a Teams call while DND is on by hand writes nothing and takes nothing", DNDOn, nothing, false, &on,
			DNDPlan{Step: DNDAlreadyOn}},
		{"a second pass of the same call holds without a read", DNDOn, ownedOn, false, nil,
			DNDPlan{Step: DNDHolds, Owned: true}},
		{"the call ends: the owned DND goes back to what it replaced", DNDOff, ownedOn, false, &on,
			DNDPlan{Step: DNDRelease, Want: false, Before: true, Owned: true}},
		{"the call ends, an owned DND that replaced on goes back on", DNDOff, DNDMemory{Applied: DNDOn, Owned: true, Replaced: true}, false, &on,
			DNDPlan{Step: DNDRelease, Want: true, Before: true, Owned: true}},
		{"the call ends after the user switched DND off by hand: nothing to release", DNDOff, ownedOn, false, &off,
			DNDPlan{Step: DNDAlreadyOff}},
		{"available with nothing owned holds without a read", DNDOff, appliedOff, false, nil,
			DNDPlan{Step: DNDHolds}},
		{"available while DND is on by hand: never cleared", DNDOff, handOn, false, &on,
			DNDPlan{Step: DNDHolds}},
		{"presence unknown keeps everything", DNDKeep, ownedOn, false, &on,
			DNDPlan{Step: DNDNothing, Owned: true}},
		{"the phone could not be read: decided next pass", DNDOn, nothing, false, nil,
			DNDPlan{Step: DNDNothing}},
		{"a user leaving the match gets an owned DND back", DNDOn, ownedOn, true, &on,
			DNDPlan{Step: DNDRelease, Want: false, Before: true, Owned: true}},
		{"a user leaving with DND switched off by hand: nothing to do", DNDKeep, ownedOn, true, &off,
			DNDPlan{Step: DNDNothing}},
		{"a user leaving with a hand-set DND: left alone", DNDOff, handOn, true, &on,
			DNDPlan{Step: DNDNothing}},
		{"a user leaving whose phone was not read: tried again", DNDOff, ownedOn, true, nil,
			DNDPlan{Step: DNDNothing, Owned: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlanDND(tc.d, tc.m, tc.leaving, tc.phone); got != tc.want {
				t.Errorf("PlanDND(%s, %+v, leaving %t, phone %v) = %+v, want %+v", tc.d, tc.m, tc.leaving, ptrString(tc.phone), got, tc.want)
			}
		})
	}
}

func TestNeedsPhone(t *testing.T) {
	for _, tc := range []struct {
		d    DND
		m    DNDMemory
		want bool
	}{
		{DNDOn, DNDMemory{}, true},
		{DNDOn, DNDMemory{Applied: DNDOff}, true},
		{DNDOn, DNDMemory{Applied: DNDOn}, false},
		{DNDOff, DNDMemory{Applied: DNDOn, Owned: true}, true},
		{DNDOff, DNDMemory{Applied: DNDOn}, false},
		{DNDOff, DNDMemory{}, false},
		{DNDKeep, DNDMemory{Owned: true}, false},
	} {
		if got := tc.m.NeedsPhone(tc.d); got != tc.want {
			t.Errorf("%+v.NeedsPhone(%s) = %t, want %t", tc.m, tc.d, got, tc.want)
		}
	}
}

func ptrString(b *bool) string {
	if b == nil {
		return "not read"
	}
	if *b {
		return "on"
	}
	return "off"
}
