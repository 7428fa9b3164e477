package starface

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
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

// discovery is what teamsface reads of the realm's OpenID discovery document.
type discovery struct {
	TokenEndpoint string   `json:"token_endpoint"`
	AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
}

// decodeDiscovery reads the discovery document; its token_endpoint must be an absolute http(s)
// URL (it is never guessed).
func decodeDiscovery(b []byte) (discovery, error) {
	var d discovery
	if err := decodeAnswer(b, &d); err != nil {
		return discovery{}, err
	}
	u, err := url.Parse(d.TokenEndpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return discovery{}, errors.New("the discovery document names no usable token_endpoint")
	}
	return d, nil
}

// tokenAnswer is a successful answer of the token endpoint (RFC 6749 5.1, Keycloak's
// refresh_expires_in included).
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
	Scope            string `json:"scope"`
}

// expiresIn is the access token's lifetime; an answer without one is taken as a minute, so
// that a token of unknown life is renewed early rather than sent dead.
func (a tokenAnswer) expiresIn() time.Duration {
	if a.ExpiresIn <= 0 {
		return time.Minute
	}
	return time.Duration(min(a.ExpiresIn, 24*3600)) * time.Second
}

// decodeTokenAnswer reads the token endpoint's 2xx answer: an access token of type Bearer.
func decodeTokenAnswer(b []byte) (tokenAnswer, error) {
	var a tokenAnswer
	if err := decodeAnswer(b, &a); err != nil {
		return tokenAnswer{}, err
	}
	switch {
	case a.AccessToken == "":
		return tokenAnswer{}, errors.New("the token answer holds no access_token")
	case a.TokenType != "" && !strings.EqualFold(a.TokenType, "Bearer"):
		return tokenAnswer{}, fmt.Errorf("the token answer's token_type is %q, not Bearer", truncate(oneLine(a.TokenType), 40))
	case strings.ContainsAny(a.AccessToken, "\r\n"):
		return tokenAnswer{}, errors.New("the token answer's access_token is not a header value")
	}
	return a, nil
}

// decodeOAuthError reads the realm's refusal ({"error", "error_description"}, Keycloak's
// shape). The description is made one line and bounded, and any occurrence of the password or
// the secret is blanked: a realm that echoed a request field must not put it in a log.
func decodeOAuthError(status int, b []byte, secrets ...string) *oauthError {
	e := &oauthError{Status: status}
	var w struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(b, &w) == nil {
		e.Code = oneLine(truncate(w.Error, maxCode))
		e.Description = w.Description
		for _, s := range secrets {
			if s != "" {
				e.Code = strings.ReplaceAll(e.Code, s, "***")
				e.Description = strings.ReplaceAll(e.Description, s, "***")
			}
		}
		e.Description = oneLine(truncate(e.Description, maxMessage))
	}
	return e
}

// decodeUser reads GET /rest/users/me or /rest/users/{id}: one user.
func decodeUser(b []byte) (User, error) {
	var w userWire
	if err := decodeAnswer(b, &w); err != nil {
		return User{}, err
	}
	if w.ID == nil {
		return User{}, errors.New("decode answer: the user has no id")
	}
	return User{ID: *w.ID, Login: w.Login, Email: w.Email, FirstName: w.FirstName, FamilyName: w.FamilyName}, nil
}

// decodeRights reads GET /rest/permissions/users/{id}: PermissionInfo items, of which the
// names (permission) are kept.
func decodeRights(b []byte) ([]string, error) {
	var wire []*struct {
		Permission string `json:"permission"`
	}
	if err := decodeAnswer(b, &wire); err != nil {
		return nil, err
	}
	rights := make([]string, 0, len(wire))
	for i, w := range wire {
		if w == nil || w.Permission == "" {
			return nil, fmt.Errorf("decode answer: permission %d of %d has no name", i+1, len(wire))
		}
		rights = append(rights, oneLine(w.Permission))
	}
	return rights, nil
}
