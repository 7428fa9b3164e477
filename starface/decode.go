package starface

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// The decoders of STARFACE's answers, one per answer, kept apart from the HTTP calls so that
// they can be fuzzed (fuzz_test.go). They are lenient about fields they do not know (newer
// releases add some) and strict about the shape teamsface relies on: a list that comes back
// as null or without the member list must not read as "no users" or "an empty group", which
// would release everyone's DND.

// decodeAnswer unmarshals a 2xx body into v, which must be a pointer.
func decodeAnswer(b []byte, v any) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("empty answer")
	case bytes.Equal(b, []byte("null")):
		return errors.New("answer is null")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// userWire is one entry of GET /rest/users. ID is a pointer so that an entry without an id
// (used in every /users/{userId} path) is refused rather than read as user 0.
type userWire struct {
	ID         *int   `json:"id"`
	Login      string `json:"login"`
	Email      string `json:"email"`
	FirstName  string `json:"firstName"`
	FamilyName string `json:"familyName"`
}

// decodeUsers reads GET /rest/users: a JSON array of users.
func decodeUsers(b []byte) ([]User, error) {
	var wire []*userWire
	if err := decodeAnswer(b, &wire); err != nil {
		return nil, err
	}
	users := make([]User, len(wire))
	for i, w := range wire {
		if w == nil || w.ID == nil {
			return nil, fmt.Errorf("decode answer: user %d of %d has no id", i+1, len(wire))
		}
		users[i] = User{ID: *w.ID, Login: w.Login, Email: w.Email, FirstName: w.FirstName, FamilyName: w.FamilyName}
	}
	return users, nil
}

// decodeGroups reads GET /rest/groups; its keys are lower case, unlike the rest of the API.
func decodeGroups(b []byte) ([]Group, error) {
	var wire []*struct {
		ID       *int   `json:"id"`
		Name     string `json:"groupname"`
		Internal string `json:"groupinternalnumber"`
		External string `json:"groupexternalnumber"`
	}
	if err := decodeAnswer(b, &wire); err != nil {
		return nil, err
	}
	groups := make([]Group, len(wire))
	for i, w := range wire {
		if w == nil || w.ID == nil {
			return nil, fmt.Errorf("decode answer: group %d of %d has no id", i+1, len(wire))
		}
		groups[i] = Group{ID: *w.ID, Name: w.Name, InternalNumber: w.Internal, ExternalNumber: w.External}
	}
	return groups, nil
}

// decodeGroupMembers reads GET /rest/groups/{id}: the members are the assignableUsers with
// assigned: true. A detail without assignableUsers is refused: it would read as a group
// without members.
func decodeGroupMembers(b []byte) ([]int, error) {
	var detail struct {
		AssignableUsers *[]*struct {
			ID       *int `json:"id"`
			Assigned bool `json:"assigned"`
		} `json:"assignableUsers"`
	}
	if err := decodeAnswer(b, &detail); err != nil {
		return nil, err
	}
	if detail.AssignableUsers == nil {
		return nil, errors.New("decode answer: no assignableUsers in the group")
	}
	members := []int{}
	for i, u := range *detail.AssignableUsers {
		if u == nil || u.ID == nil {
			return nil, fmt.Errorf("decode answer: assignable user %d has no id", i+1)
		}
		if u.Assigned {
			members = append(members, *u.ID)
		}
	}
	return members, nil
}

// decodePhoneConfig reads GET /rest/users/{id}/phoneconfig (see PhoneConfig.UnmarshalJSON).
func decodePhoneConfig(b []byte) (PhoneConfig, error) {
	var pc PhoneConfig
	if err := decodeAnswer(b, &pc); err != nil {
		return PhoneConfig{}, err
	}
	return pc, nil
}

// decodeLoginTemplate reads GET /rest/login: {"loginType", "nonce", "secret": null}.
func decodeLoginTemplate(b []byte) (loginType, nonce string, err error) {
	var tmpl struct {
		LoginType string `json:"loginType"`
		Nonce     string `json:"nonce"`
	}
	if json.Unmarshal(b, &tmpl) != nil || tmpl.Nonce == "" {
		return "", "", errors.New("answer holds no nonce")
	}
	return tmpl.LoginType, tmpl.Nonce, nil
}

// decodeAuthToken reads POST /rest/login's answer {"token": ...}.
func decodeAuthToken(b []byte) (string, error) {
	var tok struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(b, &tok) != nil || tok.Token == "" {
		return "", errors.New("answer holds no token")
	}
	return tok.Token, nil
}
