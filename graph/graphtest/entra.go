package graphtest

// The Entra half of the double: OpenID discovery, the token endpoint (client credentials with a
// secret or a certificate assertion, device code, refresh token) and the device authorization
// endpoint, answering what MSAL (under azidentity) and golang.org/x/oauth2 send on the wire.
//
// Sources: Microsoft identity platform pages "OAuth 2.0 client credentials flow", "OAuth 2.0 device
// authorization grant", "Microsoft identity platform application authentication certificate
// credentials" and "Microsoft Entra authentication and authorization error codes"; MSAL for Go
// v1.10.1 (apps/internal/oauth/resolvers.go: it fetches {authority}/{tenant}/v2.0/.well-known/
// openid-configuration before the first token request, and calls /common/discovery/instance only
// when instance discovery is on and the host is not a known Microsoft one;
// ops/accesstokens/accesstokens.go: assertions are PS256 with an `x5t#S256` header in standard
// base64, scopes get openid/profile/offline_access appended). The AADSTS numbers are the ones
// Entra uses for these cases as far as we know; only the OAuth `error` value is contractual.

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// App is an app registration in the double's Entra.
type App struct {
	Tenant, ClientID string
	ClientSecret     string            // accepted client secret ("" = none)
	Certificate      *x509.Certificate // accepted certificate for client assertions (nil = none)
	Roles            []string          // application permissions granted (admin consent), put in the token's `roles`
	Scopes           []string          // delegated permissions the signed-in user consented to, put in `scp`
	PublicClient     bool              // "Allow public client flows": needed for device code
	TokenTTL         time.Duration     // default 1h (expires_in 3599)
}

const (
	grantClientCredentials = "client_credentials"
	grantDeviceCodeURN     = "urn:ietf:params:oauth:grant-type:device_code"
	grantDeviceCodeShort   = "device_code" // what MSAL sends
	grantRefreshToken      = "refresh_token"
	assertionTypeJWT       = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

	deviceCodeLifetime = 15 * time.Minute // Entra's expires_in: 900
	deviceCodeInterval = 5                // Entra's interval, seconds
)

// entraState holds the app registrations, device codes and refresh tokens, guarded by Server.mu.
type entraState struct {
	apps          map[string]*App // key: lower(tenant) + "|" + lower(client id)
	devices       map[string]*deviceGrant
	refreshTokens map[string]*refreshGrant
	slowDown      int
}

type deviceGrant struct {
	app        *App
	deviceCode string
	userCode   string
	scopes     []string
	expires    time.Time
	status     string // pending, approved, declined
	user       string // who signed in (object id), once approved
}

type refreshGrant struct {
	app     *App
	scopes  []string
	user    string // the signed-in user the grant belongs to
	revoked bool
}

func (s *Server) initEntra() {
	s.apps = map[string]*App{}
	s.devices = map[string]*deviceGrant{}
	s.refreshTokens = map[string]*refreshGrant{}
	// Not routed by ServeMux: every path isEntraPath accepts comes to serveEntra (see wire.go),
	// so that an unknown tenant or endpoint still gets Entra's answer.
}

// serveEntra routes /common/discovery/instance, /{tenant}/v2.0/.well-known/openid-configuration,
// /{tenant}/oauth2/v2.0/token and /{tenant}/oauth2/v2.0/devicecode, and answers any other path
// or method in Entra's OAuth error JSON. Entra's own words for a wrong method are AADSTS900561
// "The endpoint only accepts POST requests. Received a GET request." (some reports read "POST,
// OPTIONS"; error invalid_request); the status is 405 here, as for Graph, since the reports
// that quote it do not agree on one. For a path it has no endpoint at, Entra shows an HTML page;
// the double answers 404 invalid_request in JSON instead, which a client can read.
func (s *Server) serveEntra(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	route, method := "", http.MethodPost
	switch {
	case len(parts) == 3 && parts[0] == "common" && parts[1] == "discovery" && parts[2] == "instance":
		route, method = "instance", http.MethodGet
	case len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration":
		route, method = "openid", http.MethodGet
	case len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && (parts[3] == "token" || parts[3] == "devicecode"):
		route = parts[3]
	}
	if route == "" || parts[0] == "" || !isCleanPath(r.URL.Path) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.writeEntraErrorLocked(w, r, http.StatusNotFound, "invalid_request", 9002313,
			fmt.Sprintf("Invalid request. Request is malformed or invalid: there is no endpoint at '%s'.", r.URL.Path))
		return
	}
	if r.Method != method {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Allow", method)
		s.writeEntraErrorLocked(w, r, http.StatusMethodNotAllowed, "invalid_request", 900561,
			fmt.Sprintf("The endpoint only accepts %s requests. Received a %s request.", method, r.Method))
		return
	}
	tenant := parts[0]
	switch route {
	case "instance":
		s.handleInstanceDiscovery(w, r)
	case "openid":
		s.handleOpenIDConfiguration(w, r, tenant)
	case "token":
		s.handleToken(w, r, tenant)
	default:
		s.handleDeviceCode(w, r, tenant)
	}
}

// RegisterApp adds (or replaces) an app registration.
func (s *Server) RegisterApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.TokenTTL <= 0 {
		a.TokenTTL = time.Hour
	}
	a.Roles = slices.Clone(a.Roles)
	a.Scopes = slices.Clone(a.Scopes)
	s.apps[appKey(a.Tenant, a.ClientID)] = &a
}

// ApproveDevice plays a user who opens the verification page, enters userCode, signs in and
// consents. That user is none of the directory's users: use ApproveDeviceAs when it matters who
// signed in (a delegated token sets only the signed-in user's own presence).
func (s *Server) ApproveDevice(userCode string) error {
	return s.decideDevice(userCode, "approved", "")
}

// ApproveDeviceAs is ApproveDevice for the user with object id userID: the tokens of this sign-in
// (and of its refreshes) act for that user.
func (s *Server) ApproveDeviceAs(userCode, userID string) error {
	return s.decideDevice(userCode, "approved", userID)
}

// DeclineDevice plays the user who enters userCode and then declines.
func (s *Server) DeclineDevice(userCode string) error {
	return s.decideDevice(userCode, "declined", "")
}

func (s *Server) decideDevice(userCode, status, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		if strings.EqualFold(d.userCode, userCode) {
			if d.status != "pending" || !s.now().Before(d.expires) {
				return fmt.Errorf("graphtest: device code %s is %s", userCode, d.status)
			}
			d.status, d.user = status, user
			return nil
		}
	}
	return fmt.Errorf("graphtest: no device code %s", userCode)
}

// PendingDeviceCodes returns the user codes waiting for the user, sorted.
func (s *Server) PendingDeviceCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var codes []string
	for _, d := range s.devices {
		if d.status == "pending" && s.now().Before(d.expires) {
			codes = append(codes, d.userCode)
		}
	}
	slices.Sort(codes)
	return codes
}

// SlowDownNext makes the next n device-code polls answer slow_down.
func (s *Server) SlowDownNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slowDown = n
}

// ExpireDeviceCodes lets every device code run out: later polls get expired_token.
func (s *Server) ExpireDeviceCodes() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		d.expires = time.Time{}
	}
}

// RevokeRefreshTokens revokes every refresh token issued so far (as "revoke sessions" does):
// later refreshes get invalid_grant.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.refreshTokens {
		g.revoked = true
	}
}

// TokenRequests counts POST …/oauth2/v2.0/token requests in the request log, failed and
// fault-injected ones included (ResetRequests starts it again from zero).
func (s *Server) TokenRequests() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/oauth2/v2.0/token") {
			n++
		}
	}
	return n
}

func appKey(tenant, clientID string) string {
	return strings.ToLower(tenant) + "|" + strings.ToLower(clientID)
}

func isMultiTenant(tenant string) bool {
	switch strings.ToLower(tenant) {
	case "common", "organizations", "consumers":
		return true
	}
	return false
}

func (s *Server) knownTenantLocked(tenant string) bool {
	for _, a := range s.apps {
		if strings.EqualFold(a.Tenant, tenant) {
			return true
		}
	}
	return false
}

// findAppLocked finds clientID in tenant; on a multi-tenant path any tenant's registration will do.
func (s *Server) findAppLocked(tenant, clientID string) *App {
	if a := s.apps[appKey(tenant, clientID)]; a != nil {
		return a
	}
	if isMultiTenant(tenant) {
		for _, a := range s.apps {
			if strings.EqualFold(a.ClientID, clientID) {
				return a
			}
		}
	}
	return nil
}

func origin(r *http.Request) string { return "https://" + r.Host }

func (s *Server) handleOpenIDConfiguration(w http.ResponseWriter, r *http.Request, tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !isMultiTenant(tenant) && !s.knownTenantLocked(tenant) {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	base := origin(r) + "/" + tenant
	issuerTenant := tenant
	if isMultiTenant(tenant) {
		issuerTenant = "{tenantid}"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"issuer":                                origin(r) + "/" + issuerTenant + "/v2.0",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"request_uri_parameter_supported":       false,
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
	})
}

// handleInstanceDiscovery answers MSAL's instance discovery, which it only calls when instance
// discovery is enabled for a host it does not know; teamsface disables it for such hosts, so a
// request here in a test shows that it did not.
func (s *Server) handleInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	tenant := "common"
	if ae, err := url.Parse(r.URL.Query().Get("authorization_endpoint")); err == nil {
		if parts := strings.Split(strings.Trim(ae.Path, "/"), "/"); len(parts) > 0 && parts[0] != "" {
			tenant = parts[0]
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": origin(r) + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata":                  []map[string]any{{"preferred_network": r.Host, "preferred_cache": r.Host, "aliases": []string{r.Host}}},
	})
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	if !isMultiTenant(tenant) && !s.knownTenantLocked(tenant) {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	switch g := r.PostForm.Get("grant_type"); g {
	case grantClientCredentials:
		s.clientCredentialsLocked(w, r, tenant)
	case grantDeviceCodeURN, grantDeviceCodeShort:
		s.deviceTokenLocked(w, r, tenant)
	case grantRefreshToken:
		s.refreshLocked(w, r, tenant)
	case "":
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", g))
	}
}

// appForRequestLocked finds the client of a token request, answering the error itself if unknown.
func (s *Server) appForRequestLocked(w http.ResponseWriter, r *http.Request, tenant string) *App {
	clientID := r.PostForm.Get("client_id")
	if clientID == "" {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return nil
	}
	a := s.findAppLocked(tenant, clientID)
	if a == nil {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant))
	}
	return a
}

func (s *Server) clientCredentialsLocked(w http.ResponseWriter, r *http.Request, tenant string) {
	if isMultiTenant(tenant) {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_request", 50059,
			"No tenant-identifying information found in either the request or implied by any provided credentials.")
		return
	}
	a := s.appForRequestLocked(w, r, tenant)
	if a == nil || !s.authenticateClientLocked(w, r, a) {
		return
	}
	if !s.checkDefaultScopeLocked(w, r) {
		return
	}
	tok := s.issueTokenLocked(a.Roles, false, "", a.TokenTTL)
	secs := ttlSeconds(a.TokenTTL)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
	})
}

// checkDefaultScopeLocked enforces the client-credentials rule that the scope names a resource
// with /.default. MSAL appends openid, profile and offline_access, which Entra ignores here.
func (s *Server) checkDefaultScopeLocked(w http.ResponseWriter, r *http.Request) bool {
	var resources []string
	for _, sc := range strings.Fields(r.PostForm.Get("scope")) {
		switch sc {
		case "openid", "profile", "offline_access":
			continue
		}
		resources = append(resources, sc)
	}
	if len(resources) != 1 || !strings.HasSuffix(resources[0], "/.default") {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", r.PostForm.Get("scope")))
		return false
	}
	if res := strings.TrimSuffix(resources[0], "/.default"); !s.isGraphResource(r, res) {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf(
			"The resource principal named %s was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", res))
		return false
	}
	return true
}

// isGraphResource accepts Graph's identifiers: this server's own origin (tests point
// graph_endpoint at it), the public clouds' Graph roots and Graph's well-known app id.
func (s *Server) isGraphResource(r *http.Request, res string) bool {
	res = strings.ToLower(strings.TrimSuffix(res, "/"))
	switch res {
	case strings.ToLower(origin(r)), "https://graph.microsoft.com", "https://graph.microsoft.us",
		"https://dod-graph.microsoft.us", "https://microsoftgraph.chinacloudapi.cn", "00000003-0000-0000-c000-000000000000":
		return true
	}
	return false
}

// authenticateClientLocked checks a confidential client's secret or signed assertion.
func (s *Server) authenticateClientLocked(w http.ResponseWriter, r *http.Request, a *App) bool {
	invalid := func(code int, msg string) bool {
		s.writeEntraErrorLocked(w, r, http.StatusUnauthorized, "invalid_client", code, msg)
		return false
	}
	if secret := r.PostForm.Get("client_secret"); secret != "" {
		if a.ClientSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(a.ClientSecret)) != 1 {
			return invalid(7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+a.ClientID+"'.")
		}
		return true
	}
	if assertion := r.PostForm.Get("client_assertion"); assertion != "" {
		if r.PostForm.Get("client_assertion_type") != assertionTypeJWT {
			return invalid(700023, "Client assertion type is not supported: "+r.PostForm.Get("client_assertion_type"))
		}
		if err := s.verifyAssertionLocked(r, a, assertion); err != nil {
			return invalid(700027, err.Error())
		}
		return true
	}
	return invalid(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}

// verifyAssertionLocked checks a client assertion JWT as Entra documents it: signed RS256 or PS256
// by the registered certificate's key, named by x5t (SHA-1) or x5t#S256 (SHA-256) thumbprint,
// aud = the token endpoint, iss = sub = client id, inside its validity window.
func (s *Server) verifyAssertionLocked(r *http.Request, a *App, assertion string) error {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return errors.New("Client assertion is not a JWT.")
	}
	dec := func(p string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "=")) }
	hb, err1 := dec(parts[0])
	pb, err2 := dec(parts[1])
	sig, err3 := dec(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return errors.New("Client assertion is not a well-formed JWT.")
	}
	var header struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Aud string          `json:"aud"`
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Exp json.RawMessage `json:"exp"`
		Nbf json.RawMessage `json:"nbf"`
	}
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(pb, &claims) != nil {
		return errors.New("Client assertion is not a well-formed JWT.")
	}
	if a.Certificate == nil {
		return errors.New("The certificate with identifier used to sign the client assertion is not registered on application '" + a.ClientID + "'.")
	}
	sha1Sum := sha1.Sum(a.Certificate.Raw)
	sha256Sum := sha256.Sum256(a.Certificate.Raw)
	if !thumbprintMatches(header.X5tS256, sha256Sum[:]) && !thumbprintMatches(header.X5t, sha1Sum[:]) {
		return errors.New("The certificate with identifier used to sign the client assertion is not registered on application '" + a.ClientID + "'.")
	}
	pub, ok := a.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("The registered certificate does not hold an RSA key.")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var verr error
	switch header.Alg {
	case "RS256":
		verr = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		verr = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		return fmt.Errorf("Client assertion uses an unsupported algorithm '%s'.", header.Alg)
	}
	if verr != nil {
		return errors.New("Client assertion contains an invalid signature.")
	}
	if tokenEndpoint := origin(r) + r.URL.Path; !strings.EqualFold(claims.Aud, tokenEndpoint) {
		return fmt.Errorf("Client assertion audience claim does not match Realm issuer. Expected '%s'.", tokenEndpoint)
	}
	if claims.Iss != a.ClientID || claims.Sub != a.ClientID {
		return errors.New("Client assertion issuer and subject must be the client id.")
	}
	const skew = 5 * time.Minute
	now := s.now()
	exp, nbf := jsonUnix(claims.Exp), jsonUnix(claims.Nbf)
	if exp.IsZero() || !now.Before(exp.Add(skew)) || (!nbf.IsZero() && now.Add(skew).Before(nbf)) {
		return errors.New("Client assertion is not within its valid time range.")
	}
	return nil
}

// thumbprintMatches accepts a thumbprint in base64url (RFC 7515) or standard base64 (what MSAL sends).
func thumbprintMatches(got string, want []byte) bool {
	if got == "" {
		return false
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(got); err == nil && subtle.ConstantTimeCompare(b, want) == 1 {
			return true
		}
	}
	return false
}

// jsonUnix reads a NumericDate written as a number or a string.
func jsonUnix(raw json.RawMessage) time.Time {
	v, err := strconv.ParseInt(strings.Trim(string(raw), `"`), 10, 64)
	if err != nil || v == 0 {
		return time.Time{}
	}
	return time.Unix(v, 0)
}

func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request, tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	if !isMultiTenant(tenant) && !s.knownTenantLocked(tenant) {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	a := s.appForRequestLocked(w, r, tenant)
	if a == nil {
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if len(scopes) == 0 {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	}
	if !s.delegatedScopesExistLocked(w, r, a, scopes) {
		return
	}
	d := &deviceGrant{
		app:        a,
		deviceCode: opaqueToken("DAQABAAEAAA"),
		userCode:   userCode(),
		scopes:     scopes,
		expires:    s.now().Add(deviceCodeLifetime),
		status:     "pending",
	}
	s.devices[d.deviceCode] = d
	const verification = "https://microsoft.com/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code":        d.userCode,
		"device_code":      d.deviceCode,
		"verification_uri": verification,
		"expires_in":       int(deviceCodeLifetime.Seconds()),
		"interval":         deviceCodeInterval,
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verification, d.userCode),
	})
}

func (s *Server) deviceTokenLocked(w http.ResponseWriter, r *http.Request, tenant string) {
	a := s.appForRequestLocked(w, r, tenant)
	if a == nil {
		return
	}
	if !a.PublicClient {
		// What Entra answers when "Allow public client flows" is off: it wants a confidential client.
		s.writeEntraErrorLocked(w, r, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	d := s.devices[r.PostForm.Get("device_code")]
	if d == nil || d.app != a {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "bad_verification_code", 70019, "The provided value for the input parameter 'device_code' is not valid.")
		return
	}
	if s.slowDown > 0 {
		s.slowDown--
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "slow_down", 70016, "The client is polling too frequently. Increase the polling interval.")
		return
	}
	switch {
	case !s.now().Before(d.expires):
		delete(s.devices, d.deviceCode)
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
	case d.status == "declined":
		delete(s.devices, d.deviceCode)
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "authorization_declined", 70000, "The user declined the authorization request.")
	case d.status == "pending":
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	default: // approved: the device code is spent
		delete(s.devices, d.deviceCode)
		s.writeDelegatedTokenLocked(w, a, d.scopes, d.user)
	}
}

func (s *Server) refreshLocked(w http.ResponseWriter, r *http.Request, tenant string) {
	a := s.appForRequestLocked(w, r, tenant)
	if a == nil {
		return
	}
	if !a.PublicClient && !s.authenticateClientLocked(w, r, a) {
		return
	}
	rt := r.PostForm.Get("refresh_token")
	g := s.refreshTokens[rt]
	switch {
	case rt == "":
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
		return
	case g == nil || g.app != a:
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	case g.revoked:
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
		return
	}
	// Microsoft's v2 refresh request lists scope as required (and golang/oauth2#540 reports Entra
	// enforcing it).
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if len(scopes) == 0 {
		s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	}
	if !s.delegatedScopesExistLocked(w, r, a, scopes) {
		return
	}
	// Rotation: the old refresh token is spent; the answer carries its successor.
	delete(s.refreshTokens, rt)
	s.writeDelegatedTokenLocked(w, a, scopes, g.user)
}

// graphAppID is Microsoft Graph's application id, the resource Entra names in its errors.
const graphAppID = "00000003-0000-0000-c000-000000000000"

// applicationOnly are Graph permissions that exist only as application permissions (app roles):
// Microsoft Learn's permissions reference lists no delegated form of Presence.ReadWrite.All, and
// setPresence's permissions table lists the delegated Presence.ReadWrite (the signed-in user
// only) beside the application Presence.ReadWrite.All.
var applicationOnly = map[string]bool{"Presence.ReadWrite.All": true}

// delegatedScopesExistLocked refuses a delegated request (device code, refresh) for a Graph
// permission that has no delegated form, as Entra does: error invalid_client, AADSTS650053 "The
// application '...' asked for scope '...' that doesn't exist on the resource
// '00000003-0000-0000-c000-000000000000'. Contact the app vendor." (seen on Microsoft Q&A
// 1353813 and the Teams developer community for application-only scopes asked for in a user
// sign-in; Microsoft's moderators: "you are calling application permissions in the scopes for a
// user authentication flow"). Entra shows it once the scopes are known; the double answers at
// the first request that names them.
func (s *Server) delegatedScopesExistLocked(w http.ResponseWriter, r *http.Request, a *App, scopes []string) bool {
	for _, sc := range scopes {
		name := sc
		if i := strings.LastIndex(sc, "/"); i >= 0 && s.isGraphResource(r, sc[:i]) {
			name = sc[i+1:]
		}
		if applicationOnly[name] {
			s.writeEntraErrorLocked(w, r, http.StatusBadRequest, "invalid_client", 650053, fmt.Sprintf(
				"The application '%s' asked for scope '%s' that doesn't exist on the resource '%s'. Contact the app vendor.",
				a.ClientID, name, graphAppID))
			return false
		}
	}
	return true
}

// writeDelegatedTokenLocked answers a user token: `scp` holds what the user consented to
// (App.Scopes); a refresh token comes only when offline_access was asked for.
func (s *Server) writeDelegatedTokenLocked(w http.ResponseWriter, a *App, scopes []string, user string) {
	tok := s.issueTokenLocked(a.Scopes, true, user, a.TokenTTL)
	secs := ttlSeconds(a.TokenTTL)
	resp := map[string]any{
		"token_type": "Bearer", "scope": strings.Join(scopes, " "),
		"expires_in": secs, "ext_expires_in": secs, "access_token": tok,
	}
	if slices.Contains(scopes, "offline_access") {
		rt := opaqueToken("1.AQEA")
		s.refreshTokens[rt] = &refreshGrant{app: a, scopes: scopes, user: user}
		resp["refresh_token"] = rt
	}
	writeJSON(w, http.StatusOK, resp)
}

// ttlSeconds is Entra's expires_in for a lifetime: one second short, so 1h reads 3599.
func ttlSeconds(ttl time.Duration) int {
	if secs := int(ttl.Seconds()) - 1; secs > 0 {
		return secs
	}
	return 1
}

// writeEntraErrorLocked answers in Entra's error shape, with the AADSTS code leading the
// description and the trace lines after it, as Entra writes them.
func (s *Server) writeEntraErrorLocked(w http.ResponseWriter, r *http.Request, status int, code string, aadsts int, msg string) {
	writeEntraError(w, r, s.now(), status, code, aadsts, msg)
}

func writeEntraError(w http.ResponseWriter, r *http.Request, now time.Time, status int, code string, aadsts int, msg string) {
	traceID, correlationID := randomID(), randomID()
	ts := now.UTC().Format("2006-01-02 15:04:05Z")
	desc := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", aadsts, msg, traceID, correlationID, ts)
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": desc,
		"error_codes":       []int{aadsts},
		"timestamp":         ts,
		"trace_id":          traceID,
		"correlation_id":    correlationID,
		"error_uri":         origin(r) + "/error?code=" + strconv.Itoa(aadsts),
	})
}

// isEntraPath tells Entra's paths from Graph's, for the route and for the shape of an answer:
// Entra's are /{tenant}/oauth2/..., /{tenant}/v2.0/... and /common/discovery/...; every other
// path is Graph's.
func isEntraPath(path string) bool {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	return len(parts) >= 2 && parts[0] != "v1.0" && (parts[1] == "oauth2" || parts[1] == "v2.0" || parts[1] == "discovery")
}

// writeEntraFault answers an injected Fault on an Entra route.
func writeEntraFault(w http.ResponseWriter, r *http.Request, f Fault) {
	code := f.Code
	if code == "" {
		code = "temporarily_unavailable"
		if f.Status < 500 && f.Status != http.StatusTooManyRequests {
			code = "invalid_request"
		}
	}
	writeEntraError(w, r, time.Now(), f.Status, code, 90033, "An injected failure: "+http.StatusText(f.Status)+".")
}

// opaqueToken makes a long random string shaped like Entra's opaque codes.
func opaqueToken(prefix string) string {
	return prefix + base64.RawURLEncoding.EncodeToString([]byte(randomID()+randomID()+randomID()))
}

// userCode makes a 9-character code like the ones Entra shows (letters and digits that are hard
// to confuse).
func userCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	id := strings.ReplaceAll(randomID(), "-", "")
	b := make([]byte, 9)
	for i := range b {
		v, _ := strconv.ParseUint(id[2*i:2*i+2], 16, 8)
		b[i] = alphabet[int(v)%len(alphabet)]
	}
	return string(b)
}
