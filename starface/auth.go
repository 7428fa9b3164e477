package starface

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The classic login of STARFACE up to 9.x (and 10.x where it is still on): GET /rest/login
// for a template with loginType and nonce, then POST /rest/login with the secret, answered by
// {"token": ...}, sent as header authToken afterwards.

// classicLifetime is how long STARFACE accepts a classic token (knowledge base "REST -
// Schnittstelle"); classicReuse is how long the client uses one before logging in again: the
// margin covers clock skew and a long pass.
const (
	classicLifetime = 4 * time.Hour
	classicReuse    = 3*time.Hour + 30*time.Minute
)

// errNoClassicLogin marks a PBX that answers GET /rest/login with 404: STARFACE 10 without the
// classic login (it goes away with 11).
var errNoClassicLogin = errors.New("the PBX has no classic login (GET /rest/login answered 404)")

// Secret is the login secret for loginType Internal:
// loginId + ":" + hex(sha512(loginId + nonce + hex(sha512(password)))), hex lower case.
func Secret(loginID, nonce, password string) string {
	ph := sha512.Sum512([]byte(password))
	h := sha512.Sum512([]byte(loginID + nonce + hex.EncodeToString(ph[:])))
	return loginID + ":" + hex.EncodeToString(h[:])
}

// ADSecret is the login secret for loginType ActiveDirectory: base64(loginId + nonce + password),
// as the Swagger description of POST /login and the knowledge base give it.
func ADSecret(loginID, nonce, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(loginID + nonce + password))
}

type loginBody struct {
	LoginType string `json:"loginType"`
	Nonce     string `json:"nonce"`
	Secret    string `json:"secret"`
}

// classicLogin logs in with the nonce and the secret. Its errors do not name the service:
// callers add "starface: <what they were doing>: ".
func (c *Client) classicLogin(ctx context.Context) (session, error) {
	op := "log in as " + c.login
	if c.password == "" {
		return session{}, &AuthError{Msg: op + ": no password configured"}
	}
	issued := c.now()
	status, resp, err := c.send(ctx, http.MethodGet, "/rest/login", credential{}, nil)
	if err != nil {
		return session{}, fmt.Errorf("%s: %w", op, err)
	}
	switch {
	case status == http.StatusNotFound:
		return session{}, fmt.Errorf("%s: %w", op, errNoClassicLogin)
	case status < 200 || status > 299:
		return session{}, fmt.Errorf("%s: get nonce: %w", op, newError(status, http.MethodGet, "/rest/login", resp))
	}
	loginType, nonce, err := decodeLoginTemplate(resp)
	if err != nil {
		return session{}, fmt.Errorf("%s: get nonce: %w", op, err)
	}
	body := loginBody{LoginType: loginType, Nonce: nonce}
	switch strings.ToLower(strings.ReplaceAll(loginType, "_", "")) {
	case "", "internal":
		body.LoginType = "Internal"
		body.Secret = Secret(c.login, nonce, c.password)
	case "activedirectory":
		body.Secret = ADSecret(c.login, nonce, c.password)
	default:
		return session{}, fmt.Errorf("%s: unsupported loginType %q", op, loginType)
	}
	in, err := json.Marshal(body)
	if err != nil {
		return session{}, err
	}
	status, resp, err = c.send(ctx, http.MethodPost, "/rest/login", credential{}, in)
	if err != nil {
		return session{}, fmt.Errorf("%s: %w", op, err)
	}
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden:
		// The Swagger file documents 400 for an invalid login; some releases answer 401/403.
		return session{}, &AuthError{Msg: op + ": credentials rejected", Refused: RefusedCredentials,
			Err: newError(status, http.MethodPost, "/rest/login", resp)}
	case status < 200 || status > 299:
		return session{}, fmt.Errorf("%s: %w", op, newError(status, http.MethodPost, "/rest/login", resp))
	}
	tok, err := decodeAuthToken(resp)
	if err != nil {
		return session{}, fmt.Errorf("%s: %w", op, err)
	}
	return session{Method: MethodClassic, Token: tok, IssuedAt: issued, ExpiresAt: issued.Add(classicLifetime)}, nil
}

// classicLogout invalidates a classic token on the PBX (DELETE /rest/login). A 401 is no
// error: the token was already dead.
func (c *Client) classicLogout(ctx context.Context, tok string) error {
	status, resp, err := c.send(ctx, http.MethodDelete, "/rest/login", credential{method: MethodClassic, token: tok}, nil)
	switch {
	case err != nil:
		return err
	case status == http.StatusUnauthorized:
		return nil
	case status < 200 || status > 299:
		return newError(status, http.MethodDelete, "/rest/login", resp)
	}
	return nil
}
