package graph

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// TokenPermissions reads the permissions an access token carries, so `login --check` can say which
// Graph permission is missing before a pass fails on it. Application tokens list them in `roles`,
// delegated tokens in `scp` (space-separated); Microsoft documents both claims in its access-token
// reference. The signature is not checked: the token came straight from Entra over TLS and Graph
// checks it anyway; this is only for telling the admin what was granted.
func TokenPermissions(token string) (perms []string, delegated bool, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false, errors.New("graph: read token permissions: not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false, errors.New("graph: read token permissions: payload is not base64url")
	}
	var claims struct {
		Roles []string `json:"roles"`
		Scp   string   `json:"scp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, false, errors.New("graph: read token permissions: payload is not JSON")
	}
	if claims.Scp != "" {
		return strings.Fields(claims.Scp), true, nil
	}
	return claims.Roles, false, nil
}
