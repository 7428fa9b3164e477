package starface

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// PhoneConfig is GET/PUT /rest/users/{userId}/phoneconfig. STARFACE wants all four fields on
// every PUT, so a change is always a read-modify-write of the whole value.
type PhoneConfig struct {
	CallWaiting     bool
	DisplayNumberID int
	DoNotDisturb    bool
	PrimaryPhoneID  int
	// Extra holds fields this client does not know (a newer release may add some), exactly as
	// read, so that writing the config back does not drop them.
	Extra map[string]json.RawMessage
	// nulls marks known fields that STARFACE sent as null (a user without a phone may have no
	// primaryPhoneId); while such a field is still zero it is sent back as null, not as 0.
	//
	// Why null and not 0: the Swagger file marks all four fields required, which says they
	// must be present, not that they may not be null (Swagger 2.0 cannot say). A PBX that
	// serves null holds no value there (a Java boxed type), and such a field takes null back;
	// 0 would instead name a phone or number id 0 that does not exist and could be refused or,
	// worse, change the config. So a read-modify-write sends back exactly what it read, and
	// starfacetest accepts null where it serves null (and refuses it where it holds a value).
	nulls uint8
}

var phoneConfigKeys = [...]string{"callWaiting", "displayNumberId", "doNotDisturb", "primaryPhoneId"}

func (p *PhoneConfig) fields() [4]any {
	return [4]any{&p.CallWaiting, &p.DisplayNumberID, &p.DoNotDisturb, &p.PrimaryPhoneID}
}

// UnmarshalJSON keeps unknown fields in Extra and remembers null ones.
func (p *PhoneConfig) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*p = PhoneConfig{}
	ptrs := p.fields()
	for i, k := range phoneConfigKeys {
		v, ok := m[k]
		if !ok {
			continue
		}
		delete(m, k)
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			p.nulls |= 1 << i
			continue
		}
		if err := json.Unmarshal(v, ptrs[i]); err != nil {
			return fmt.Errorf("phone config field %s: %w", k, err)
		}
	}
	if len(m) > 0 {
		p.Extra = m
	}
	return nil
}

// MarshalJSON writes the four fields and Extra.
func (p PhoneConfig) MarshalJSON() ([]byte, error) {
	m := make(map[string]json.RawMessage, len(p.Extra)+4)
	for k, v := range p.Extra {
		m[k] = v
	}
	vals := [4]any{p.CallWaiting, p.DisplayNumberID, p.DoNotDisturb, p.PrimaryPhoneID}
	zero := [4]bool{!p.CallWaiting, p.DisplayNumberID == 0, !p.DoNotDisturb, p.PrimaryPhoneID == 0}
	for i, k := range phoneConfigKeys {
		if p.nulls&(1<<i) != 0 && zero[i] {
			m[k] = json.RawMessage("null")
			continue
		}
		b, err := json.Marshal(vals[i])
		if err != nil {
			return nil, err
		}
		m[k] = b
	}
	return json.Marshal(m)
}

// String shows the four fields for logs and tests.
func (p PhoneConfig) String() string {
	return fmt.Sprintf("{callWaiting:%t displayNumberId:%d doNotDisturb:%t primaryPhoneId:%d}",
		p.CallWaiting, p.DisplayNumberID, p.DoNotDisturb, p.PrimaryPhoneID)
}
