package starface

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// STARFACE 10 signs apps in through its own OpenID realm "pbx". STARFACE publishes no
// reference for it; what follows agrees across three third-party clients (one reports live
// use against 10.0.2.6), see ../shared/api/starface.md "Login (STARFACE 10: OAuth)":
//   - GET {url}/.well-known/openid-configuration redirects into the realm; its token_endpoint
//     is the one to use (observed /auth/realms/pbx/oauth2/token, not Keycloak's usual path:
//     never guess it);
//   - the headless client signs in with the password grant (client rest-client-headless, its
//     secret from Server → Status → REST-API, scope pbx-login or login), client
//     authentication as HTTP Basic or, where the realm takes only that, form fields;
//   - the user needs the right "API access with OAuth Password Grant";
//   - access tokens live about 5 minutes, refresh tokens about 6 hours and rotate.

// Defaults of Options.ClientID and Options.Scope.
const (
	DefaultClientID = "rest-client-headless"
	DefaultScope    = "pbx-login"
)

// RightOAuthPasswordGrant is the STARFACE user right the password grant needs (German UI:
// "API Zugriff mit OAuth Password Grant").
const RightOAuthPasswordGrant = "API access with OAuth Password Grant"

const (
	discoveryPath   = "/.well-known/openid-configuration"
	clientAuthBasic = "basic"
	clientAuthPost  = "post"
)

// What an AuthError says was refused (AuthError.Refused).
const (
	RefusedClient      = "client"           // the client id or secret
	RefusedCredentials = "user credentials" // login or password
	RefusedScope       = "scope"
	RefusedRight       = "right" // the user lacks RightOAuthPasswordGrant
	// RefusedClientOrRight: a 401 without an error code the realm explains; both are likely.
	RefusedClientOrRight = "client secret or right"
)

// errNoRealm marks a PBX whose discovery does not answer with a usable document: STARFACE up
// to 9.x has no OAuth realm.
var errNoRealm = errors.New("the PBX has no OAuth realm (GET " + discoveryPath + " gave no usable answer)")

// oauthError is the realm's refusal, in the shape Keycloak answers: {"error",
// "error_description"} with 400 or 401.
type oauthError struct {
	Status      int
	Code        string // the "error" field: invalid_grant, invalid_client, invalid_scope, ...
	Description string // sanitised: one line, bounded, without the password or secret
}

func (e *oauthError) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

func oauthCode(err error) string {
	var oe *oauthError
	if errors.As(err, &oe) {
		return oe.Code
	}
	return ""
}

// discover reads the realm's discovery document (redirects followed).
func (c *Client) discover(ctx context.Context) (discovery, error) {
	status, _, body, err := c.exchange(ctx, outgoing{method: http.MethodGet, url: c.base + discoveryPath})
	if err != nil {
		return discovery{}, fmt.Errorf("discovery: %w", err)
	}
	if status < 200 || status > 299 {
		return discovery{}, fmt.Errorf("%w: %d %s", errNoRealm, status, http.StatusText(status))
	}
	d, err := decodeDiscovery(body)
	if err != nil {
		return discovery{}, fmt.Errorf("%w: %w", errNoRealm, err)
	}
	// The password goes to the token endpoint: never over plain http when the PBX is reached
	// over https.
	if strings.HasPrefix(c.base, "https://") && !strings.HasPrefix(d.TokenEndpoint, "https://") {
		return discovery{}, fmt.Errorf("discovery names a token endpoint without https (%s): refusing to send the password there", d.TokenEndpoint)
	}
	return d, nil
}

// tokenRequest posts one grant to the token endpoint with the client authentication given.
func (c *Client) tokenRequest(ctx context.Context, endpoint, clientAuth string, form url.Values) (tokenAnswer, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientAuth == clientAuthPost {
		form.Set("client_id", c.clientID)
		form.Set("client_secret", c.secret)
	} else {
		// RFC 6749 2.3.1: id and secret are form-encoded before Basic, as golang.org/x/oauth2 does.
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
			[]byte(url.QueryEscape(c.clientID)+":"+url.QueryEscape(c.secret))))
	}
	status, _, body, err := c.exchange(ctx, outgoing{method: http.MethodPost, url: endpoint, header: h, body: []byte(form.Encode())})
	if err != nil {
		return tokenAnswer{}, err
	}
	if status < 200 || status > 299 {
		return tokenAnswer{}, decodeOAuthError(status, body, c.password, c.secret)
	}
	return decodeTokenAnswer(body)
}

// sessionFrom turns a token answer into a session; a refresh answer without a new refresh
// token keeps the old one (a realm that does not rotate).
func sessionFrom(prev session, ans tokenAnswer, issued time.Time) session {
	s := prev
	s.Method = MethodOAuth
	s.Token = ans.AccessToken
	s.IssuedAt = issued
	s.ExpiresAt = issued.Add(ans.expiresIn())
	if ans.RefreshToken != "" {
		s.RefreshToken = ans.RefreshToken
		s.RefreshExpiresAt = time.Time{}
		if ans.RefreshExpiresIn > 0 {
			s.RefreshExpiresAt = issued.Add(time.Duration(ans.RefreshExpiresIn) * time.Second)
		}
	}
	return s
}

// refresh renews the access token with the refresh token; the answer's refresh token replaces
// the used one (they rotate: the old one is refused from now on).
func (c *Client) refresh(ctx context.Context, prev session) (session, error) {
	issued := c.now()
	ans, err := c.tokenRequest(ctx, prev.TokenEndpoint, prev.ClientAuth,
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {prev.RefreshToken}})
	if err != nil {
		return session{}, err
	}
	c.log.DebugContext(ctx, "starface token refreshed", "login", c.login)
	return sessionFrom(prev, ans, issued), nil
}

// oauthSignIn makes a password grant. The token endpoint, client authentication and scope
// come from the cached session when there is one, else from discovery (d, or a new one) and
// the options. Three refusals are worth one more try each: invalid_scope with the other known
// scope, a refused Basic client authentication with form fields where discovery allows them,
// and a 404 from a cached token endpoint (the PBX was reconfigured) with a new discovery.
func (c *Client) oauthSignIn(ctx context.Context, prev session, d *discovery) (session, error) {
	op := "sign in as " + c.login + " (oauth)"
	switch {
	case c.secret == "":
		return session{}, &AuthError{Msg: op + ": no client secret configured", Fix: fixSecret}
	case c.password == "":
		return session{}, &AuthError{Msg: op + ": no password configured"}
	}
	var methods []string
	cachedEndpoint := prev.TokenEndpoint != ""
	if !cachedEndpoint {
		if d == nil {
			nd, err := c.discover(ctx)
			if errors.Is(err, errNoRealm) {
				return session{}, &AuthError{Msg: op, Err: err, Fix: "STARFACE 10 is needed for OAuth; set starface.auth to classic or auto"}
			}
			if err != nil {
				return session{}, fmt.Errorf("%s: %w", op, err)
			}
			d = &nd
		}
		prev = session{TokenEndpoint: d.TokenEndpoint, AutoWithSecret: prev.AutoWithSecret}
		methods = d.AuthMethods
	}
	auth, scope := prev.ClientAuth, prev.Scope
	if auth == "" {
		auth = chooseClientAuth(methods)
	}
	if scope == "" {
		scope = c.scope
	}
	triedScope, triedPost, rediscovered := false, false, false
	for {
		issued := c.now()
		ans, err := c.tokenRequest(ctx, prev.TokenEndpoint, auth, url.Values{
			"grant_type": {"password"}, "username": {c.login}, "password": {c.password}, "scope": {scope}})
		code := oauthCode(err)
		switch {
		case err == nil:
			prev.ClientAuth, prev.Scope = auth, scope
			return sessionFrom(prev, ans, issued), nil
		case code == "invalid_scope" && !triedScope && otherScope(scope) != "":
			triedScope = true
			c.log.DebugContext(ctx, "starface scope refused, trying the other known one", "scope", scope, "next", otherScope(scope))
			scope = otherScope(scope)
		case (code == "invalid_client" || code == "unauthorized_client") && auth == clientAuthBasic && !triedPost &&
			(len(methods) == 0 || slices.Contains(methods, "client_secret_post")):
			triedPost = true
			c.log.DebugContext(ctx, "starface client authentication with Basic refused, trying form fields")
			auth = clientAuthPost
		case cachedEndpoint && !rediscovered && oauthStatus(err) == http.StatusNotFound:
			rediscovered = true
			nd, derr := c.discover(ctx)
			if derr != nil {
				return session{}, fmt.Errorf("%s: the cached token endpoint answered 404: %w", op, derr)
			}
			c.log.DebugContext(ctx, "starface token endpoint discovered again after a 404")
			prev.TokenEndpoint, methods, auth = nd.TokenEndpoint, nd.AuthMethods, chooseClientAuth(nd.AuthMethods)
		default:
			return session{}, c.refusal(op, scope, err)
		}
	}
}

func oauthStatus(err error) int {
	var oe *oauthError
	if errors.As(err, &oe) {
		return oe.Status
	}
	return 0
}

// chooseClientAuth prefers HTTP Basic and uses form fields only when discovery lists
// client_secret_post without client_secret_basic.
func chooseClientAuth(methods []string) string {
	if !slices.Contains(methods, "client_secret_basic") && slices.Contains(methods, "client_secret_post") {
		return clientAuthPost
	}
	return clientAuthBasic
}

// otherScope is the other of the two scopes clients are known to use.
func otherScope(s string) string {
	switch s {
	case "pbx-login":
		return "login"
	case "login":
		return "pbx-login"
	}
	return ""
}

const fixSecret = "copy the client secret of " + DefaultClientID + " from the STARFACE administration " +
	"(Server → Status → REST-API) into the variable named by starface.client_secret_env " +
	"(default STARFACE_CLIENT_SECRET) or a 0600 file named by starface.client_secret_file"

// refusal says which part of a refused grant the realm refused, and what fixes it. It never
// holds the password or the secret (oauthError's description is scrubbed of both).
func (c *Client) refusal(op, scope string, err error) error {
	var oe *oauthError
	if !errors.As(err, &oe) {
		return fmt.Errorf("%s: %w", op, err)
	}
	right := fmt.Sprintf("give %s the right %q (user settings → Rights)", c.login, RightOAuthPasswordGrant)
	switch {
	case oe.Code == "invalid_client" || oe.Code == "unauthorized_client":
		return &AuthError{Msg: op + ": the PBX refused the client " + c.clientID, Refused: RefusedClient, Err: oe, Fix: fixSecret}
	case oe.Code == "invalid_scope":
		return &AuthError{Msg: op + ": the PBX refused the scope " + scope, Refused: RefusedScope, Err: oe,
			Fix: "set starface.scope to a scope the realm offers (known: pbx-login, login)"}
	case oe.Code == "access_denied" || oe.Status == http.StatusForbidden:
		return &AuthError{Msg: op + ": " + c.login + " may not sign in with the password grant", Refused: RefusedRight, Err: oe, Fix: right}
	case oe.Code == "invalid_grant":
		return &AuthError{Msg: op + ": the PBX refused the user credentials of " + c.login, Refused: RefusedCredentials, Err: oe,
			Fix: "check starface.login and the password"}
	case oe.Status == http.StatusUnauthorized:
		return &AuthError{Msg: op + ": the PBX refused the sign-in", Refused: RefusedClientOrRight, Err: oe,
			Fix: "check the client secret (Server → Status → REST-API) and " + right}
	}
	return fmt.Errorf("%s: token endpoint: %w", op, oe)
}

// signIn obtains a new session with the configured method. auto picks OAuth when a client
// secret is configured and the PBX's discovery answers, the classic login otherwise, and
// remembers the choice with the session (prev, from the cache), so that a cron run does not
// probe every time.
func (c *Client) signIn(ctx context.Context, prev session) (session, error) {
	switch c.mode {
	case MethodClassic:
		s, err := c.classicLogin(ctx)
		if errors.Is(err, errNoClassicLogin) {
			return session{}, &AuthError{Msg: "log in as " + c.login, Err: errNoClassicLogin,
				Fix: "set starface.auth to auto or oauth and configure the OAuth client secret"}
		}
		return s, err
	case MethodOAuth:
		return c.oauthSignIn(ctx, prev, nil)
	}
	haveSecret := c.secret != ""
	switch {
	case prev.Method == MethodOAuth && haveSecret:
		return c.oauthSignIn(ctx, prev, nil)
	case prev.Method == MethodClassic && (prev.AutoWithSecret || !haveSecret):
		s, err := c.classicLogin(ctx)
		if errors.Is(err, errNoClassicLogin) { // the PBX was upgraded
			return c.autoWithoutClassic(ctx, err)
		}
		s.AutoWithSecret = haveSecret
		return s, err
	}
	if haveSecret {
		d, err := c.discover(ctx)
		if err == nil {
			s, err := c.oauthSignIn(ctx, session{AutoWithSecret: true}, &d)
			return s, err
		}
		if !errors.Is(err, errNoRealm) {
			return session{}, fmt.Errorf("sign in as %s: %w", c.login, err)
		}
		c.log.DebugContext(ctx, "starface has no OAuth realm, using the classic login", "error", err)
	}
	s, err := c.classicLogin(ctx)
	if errors.Is(err, errNoClassicLogin) {
		return c.autoWithoutClassic(ctx, err)
	}
	s.AutoWithSecret = haveSecret
	return s, err
}

// autoWithoutClassic handles a PBX without the classic login in auto mode: OAuth when a secret
// is configured, else an AuthError that names the admin steps.
func (c *Client) autoWithoutClassic(ctx context.Context, classicErr error) (session, error) {
	if c.secret == "" {
		return session{}, &AuthError{
			Msg: "sign in as " + c.login + ": the PBX has no classic login (GET /rest/login answered 404) and no OAuth client secret is configured",
			Fix: fixSecret + ", and give " + c.login + fmt.Sprintf(" the right %q", RightOAuthPasswordGrant)}
	}
	s, err := c.oauthSignIn(ctx, session{AutoWithSecret: true}, nil)
	var ae *AuthError
	if errors.As(err, &ae) && errors.Is(ae.Err, errNoRealm) {
		return session{}, fmt.Errorf("sign in as %s: neither login works: %w; and %w", c.login, classicErr, errNoRealm)
	}
	return s, err
}
