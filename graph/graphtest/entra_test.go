package graphtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	entraTenant   = "contoso.onmicrosoft.com"
	entraClientID = "11111111-2222-3333-4444-555555555555"
	entraSecret   = "the-secret"
)

func newEntraServer(t *testing.T, apps ...App) *Server {
	t.Helper()
	s := NewServer()
	t.Cleanup(s.Close)
	for _, a := range apps {
		s.RegisterApp(a)
	}
	return s
}

// entraCall sends a request and decodes the JSON answer.
func entraCall(t *testing.T, s *Server, method, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, s.Origin()+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func entraTokenPath(tn string) string { return "/" + tn + "/oauth2/v2.0/token" }

// checkEntraError asserts Entra's error shape and the OAuth error code.
func checkEntraError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || body["error"] != wantCode {
		t.Fatalf("got %d %v, want %d %s", status, body["error"], wantStatus, wantCode)
	}
	for _, k := range []string{"error_description", "error_codes", "timestamp", "trace_id", "correlation_id"} {
		if _, ok := body[k]; !ok {
			t.Errorf("error answer lacks %q: %v", k, body)
		}
	}
	if d, _ := body["error_description"].(string); !strings.HasPrefix(d, "AADSTS") || !strings.Contains(d, "Trace ID: ") {
		t.Errorf("error_description %q not in Entra's form", d)
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	s := newEntraServer(t, App{Tenant: entraTenant, ClientID: entraClientID, ClientSecret: entraSecret})
	status, body := entraCall(t, s, "GET", "/"+entraTenant+"/v2.0/.well-known/openid-configuration", nil)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	want := map[string]string{
		"token_endpoint":                s.Origin() + entraTokenPath(entraTenant),
		"device_authorization_endpoint": s.Origin() + "/" + entraTenant + "/oauth2/v2.0/devicecode",
		"authorization_endpoint":        s.Origin() + "/" + entraTenant + "/oauth2/v2.0/authorize",
		"issuer":                        s.Origin() + "/" + entraTenant + "/v2.0",
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %v, want %s", k, body[k], v)
		}
	}
	status, body = entraCall(t, s, "GET", "/fabrikam.com/v2.0/.well-known/openid-configuration", nil)
	checkEntraError(t, status, body, 400, "invalid_tenant")

	status, body = entraCall(t, s, "GET", "/common/discovery/instance?api-version=1.1&authorization_endpoint="+
		url.QueryEscape(s.Origin()+"/"+entraTenant+"/oauth2/v2.0/authorize"), nil)
	if status != 200 || body["tenant_discovery_endpoint"] != s.Origin()+"/"+entraTenant+"/v2.0/.well-known/openid-configuration" {
		t.Errorf("instance discovery = %d %v", status, body)
	}
	if status, _ := entraCall(t, s, "GET", entraTokenPath(entraTenant), nil); status != http.StatusMethodNotAllowed {
		t.Errorf("GET token = %d, want 405", status)
	}
}

func TestClientCredentials(t *testing.T) {
	s := newEntraServer(t, App{Tenant: entraTenant, ClientID: entraClientID, ClientSecret: entraSecret, Roles: []string{"User.Read.All"}})
	graphScope := s.Origin() + "/.default"
	form := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {entraClientID}, "client_secret": {entraSecret}, "scope": {graphScope}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}
	tests := []struct {
		name       string
		tenant     string
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{name: "secret", form: form(), wantStatus: 200},
		{name: "msal extra scopes", form: form("scope", graphScope+" openid profile offline_access"), wantStatus: 200},
		{name: "public graph resource", form: form("scope", "https://graph.microsoft.com/.default"), wantStatus: 200},
		{name: "scope without .default", form: form("scope", s.Origin()+"/User.Read.All"), wantStatus: 400, wantError: "invalid_scope"},
		{name: "no scope", form: form("scope", ""), wantStatus: 400, wantError: "invalid_scope"},
		{name: "unknown resource", form: form("scope", "https://example.org/.default"), wantStatus: 400, wantError: "invalid_resource"},
		{name: "wrong secret", form: form("client_secret", "nope"), wantStatus: 401, wantError: "invalid_client"},
		{name: "no credential", form: form("client_secret", ""), wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown client", form: form("client_id", "99999999-0000-0000-0000-000000000000"), wantStatus: 400, wantError: "unauthorized_client"},
		{name: "unknown tenant", tenant: "fabrikam.com", form: form(), wantStatus: 400, wantError: "invalid_request"},
		{name: "common tenant", tenant: "common", form: form(), wantStatus: 400, wantError: "invalid_request"},
		{name: "unsupported grant", form: form("grant_type", "password"), wantStatus: 400, wantError: "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := tt.tenant
			if tn == "" {
				tn = entraTenant
			}
			status, body := entraCall(t, s, "POST", entraTokenPath(tn), tt.form)
			if tt.wantError != "" {
				checkEntraError(t, status, body, tt.wantStatus, tt.wantError)
				return
			}
			if status != 200 || body["token_type"] != "Bearer" || body["expires_in"] != float64(3599) {
				t.Fatalf("got %d %v", status, body)
			}
			if _, ok := body["refresh_token"]; ok {
				t.Errorf("client credentials answer carries a refresh token")
			}
			tok, _ := body["access_token"].(string)
			if code := entraAuthorizeStatus(s, tok, "User.Read.All"); code != 200 {
				t.Errorf("Graph refused the minted token: %d", code)
			}
			if code := entraAuthorizeStatus(s, tok, "Presence.Read.All"); code != 403 {
				t.Errorf("Graph accepted a permission the app lacks: %d", code)
			}
		})
	}
}

// entraAuthorizeStatus runs the Graph side's token check against tok for perm.
func entraAuthorizeStatus(s *Server, tok, perm string) int {
	r := httptest.NewRequest("GET", "/v1.0/users", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	s.mu.Lock()
	ok := s.authorizeLocked(w, r, perm)
	s.mu.Unlock()
	if ok {
		return 200
	}
	return w.Code
}

func entraCert(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

type entraAssertion struct {
	alg        string // RS256 or PS256
	thumbKey   string // x5t or x5t#S256
	thumbCert  *x509.Certificate
	key        *rsa.PrivateKey
	aud, iss   string
	exp        time.Time
	tamper     bool // change the payload after signing
	headerAlg  string
	encodeStd  bool // thumbprint in standard base64 as MSAL writes it
	skipThumbs bool
}

func signAssertion(t *testing.T, a entraAssertion) string {
	t.Helper()
	header := map[string]any{"alg": a.alg, "typ": "JWT"}
	if a.headerAlg != "" {
		header["alg"] = a.headerAlg
	}
	if !a.skipThumbs {
		var sum []byte
		if a.thumbKey == "x5t" {
			h := sha1.Sum(a.thumbCert.Raw)
			sum = h[:]
		} else {
			h := sha256.Sum256(a.thumbCert.Raw)
			sum = h[:]
		}
		enc := base64.RawURLEncoding
		if a.encodeStd {
			enc = base64.StdEncoding
		}
		header[a.thumbKey] = enc.EncodeToString(sum)
	}
	claims := map[string]any{"aud": a.aud, "iss": a.iss, "sub": a.iss, "exp": a.exp.Unix(), "nbf": time.Now().Add(-time.Minute).Unix(), "jti": randomID()}
	hb, _ := json.Marshal(header)
	pb, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(pb)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	if a.alg == "RS256" {
		sig, err = rsa.SignPKCS1v15(rand.Reader, a.key, crypto.SHA256, digest[:])
	} else {
		sig, err = rsa.SignPSS(rand.Reader, a.key, crypto.SHA256, digest[:], nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if a.tamper {
		claims["iss"] = "someone-else"
		pb, _ = json.Marshal(claims)
		input = base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(pb)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestClientAssertion(t *testing.T) {
	key, cert := entraCert(t)
	otherKey, otherCert := entraCert(t)
	s := newEntraServer(t, App{Tenant: entraTenant, ClientID: entraClientID, Certificate: cert, Roles: []string{"User.Read.All"}})
	aud := s.Origin() + entraTokenPath(entraTenant)
	good := entraAssertion{alg: "PS256", thumbKey: "x5t#S256", thumbCert: cert, key: key, aud: aud, iss: entraClientID, exp: time.Now().Add(10 * time.Minute), encodeStd: true}
	with := func(f func(*entraAssertion)) entraAssertion { a := good; f(&a); return a }
	tests := []struct {
		name   string
		spec   entraAssertion
		wantOK bool
	}{
		{name: "PS256 x5t#S256 as MSAL sends it", spec: good, wantOK: true},
		{name: "RS256 x5t base64url", spec: with(func(a *entraAssertion) { a.alg, a.thumbKey, a.encodeStd = "RS256", "x5t", false }), wantOK: true},
		{name: "signed by another key", spec: with(func(a *entraAssertion) { a.key = otherKey })},
		{name: "another certificate's thumbprint", spec: with(func(a *entraAssertion) { a.thumbCert, a.key = otherCert, otherKey })},
		{name: "no thumbprint", spec: with(func(a *entraAssertion) { a.skipThumbs = true })},
		{name: "wrong audience", spec: with(func(a *entraAssertion) {
			a.aud = "https://login.microsoftonline.com/" + entraTenant + "/oauth2/v2.0/token"
		})},
		{name: "wrong issuer", spec: with(func(a *entraAssertion) { a.iss = "22222222-2222-3333-4444-555555555555" })},
		{name: "expired", spec: with(func(a *entraAssertion) { a.exp = time.Now().Add(-time.Hour) })},
		{name: "tampered payload", spec: with(func(a *entraAssertion) { a.tamper = true })},
		{name: "alg none", spec: with(func(a *entraAssertion) { a.headerAlg = "none" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{
				"grant_type": {"client_credentials"}, "client_id": {entraClientID}, "scope": {s.Origin() + "/.default"},
				"client_assertion_type": {assertionTypeJWT}, "client_assertion": {signAssertion(t, tt.spec)},
			}
			status, body := entraCall(t, s, "POST", entraTokenPath(entraTenant), form)
			if tt.wantOK {
				if status != 200 || body["access_token"] == nil {
					t.Fatalf("got %d %v", status, body)
				}
				return
			}
			checkEntraError(t, status, body, 401, "invalid_client")
		})
	}

	// An app without a certificate refuses any assertion.
	s.RegisterApp(App{Tenant: entraTenant, ClientID: entraClientID, ClientSecret: entraSecret})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {entraClientID}, "scope": {s.Origin() + "/.default"},
		"client_assertion_type": {assertionTypeJWT}, "client_assertion": {signAssertion(t, good)}}
	status, body := entraCall(t, s, "POST", entraTokenPath(entraTenant), form)
	checkEntraError(t, status, body, 401, "invalid_client")
}

func startDeviceFlow(t *testing.T, s *Server, scope string) (deviceCode, userCode string) {
	t.Helper()
	status, body := entraCall(t, s, "POST", "/"+entraTenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {entraClientID}, "scope": {scope}})
	if status != 200 {
		t.Fatalf("devicecode: %d %v", status, body)
	}
	for _, k := range []string{"device_code", "user_code", "verification_uri", "expires_in", "interval", "message"} {
		if body[k] == nil {
			t.Fatalf("devicecode answer lacks %s: %v", k, body)
		}
	}
	if body["interval"] != float64(5) || body["expires_in"] != float64(900) {
		t.Errorf("interval/expires_in = %v/%v, want 5/900", body["interval"], body["expires_in"])
	}
	return body["device_code"].(string), body["user_code"].(string)
}

func pollDevice(t *testing.T, s *Server, grant, deviceCode string) (int, map[string]any) {
	t.Helper()
	return entraCall(t, s, "POST", entraTokenPath(entraTenant), url.Values{"grant_type": {grant}, "client_id": {entraClientID}, "device_code": {deviceCode}})
}

func TestDeviceCodeFlow(t *testing.T) {
	app := App{Tenant: entraTenant, ClientID: entraClientID, PublicClient: true, Scopes: []string{"Presence.Read.All", "User.Read.All"}}
	const scope = "https://graph.microsoft.com/Presence.Read.All offline_access"

	t.Run("approved", func(t *testing.T) {
		s := newEntraServer(t, app)
		dc, uc := startDeviceFlow(t, s, scope)
		if got := s.PendingDeviceCodes(); len(got) != 1 || got[0] != uc {
			t.Fatalf("PendingDeviceCodes = %v, want [%s]", got, uc)
		}
		status, body := pollDevice(t, s, grantDeviceCodeURN, dc)
		checkEntraError(t, status, body, 400, "authorization_pending")
		s.SlowDownNext(1)
		status, body = pollDevice(t, s, grantDeviceCodeURN, dc)
		checkEntraError(t, status, body, 400, "slow_down")
		if err := s.ApproveDevice(uc); err != nil {
			t.Fatal(err)
		}
		if got := s.PendingDeviceCodes(); len(got) != 0 {
			t.Errorf("approved code still pending: %v", got)
		}
		status, body = pollDevice(t, s, grantDeviceCodeShort, dc) // MSAL's short grant name
		if status != 200 || body["refresh_token"] == nil || body["scope"] != scope {
			t.Fatalf("got %d %v", status, body)
		}
		if code := entraAuthorizeStatus(s, body["access_token"].(string), "Presence.Read.All"); code != 200 {
			t.Errorf("Graph refused the delegated token: %d", code)
		}
		status, body = pollDevice(t, s, grantDeviceCodeURN, dc) // spent
		checkEntraError(t, status, body, 400, "bad_verification_code")
	})
	t.Run("declined", func(t *testing.T) {
		s := newEntraServer(t, app)
		dc, uc := startDeviceFlow(t, s, scope)
		if err := s.DeclineDevice(uc); err != nil {
			t.Fatal(err)
		}
		status, body := pollDevice(t, s, grantDeviceCodeURN, dc)
		checkEntraError(t, status, body, 400, "authorization_declined")
		if err := s.ApproveDevice(uc); err == nil {
			t.Errorf("a declined code could still be approved")
		}
	})
	t.Run("expired", func(t *testing.T) {
		s := newEntraServer(t, app)
		dc, _ := startDeviceFlow(t, s, scope)
		s.ExpireDeviceCodes()
		if got := s.PendingDeviceCodes(); len(got) != 0 {
			t.Errorf("expired code still pending: %v", got)
		}
		status, body := pollDevice(t, s, grantDeviceCodeURN, dc)
		checkEntraError(t, status, body, 400, "expired_token")
	})
	t.Run("no offline_access, no refresh token", func(t *testing.T) {
		s := newEntraServer(t, app)
		dc, uc := startDeviceFlow(t, s, "https://graph.microsoft.com/Presence.Read.All")
		_ = s.ApproveDevice(uc)
		status, body := pollDevice(t, s, grantDeviceCodeURN, dc)
		if status != 200 || body["refresh_token"] != nil {
			t.Errorf("got %d %v, want a token without refresh token", status, body)
		}
	})
	t.Run("public client flows off", func(t *testing.T) {
		confidential := app
		confidential.PublicClient = false
		s := newEntraServer(t, confidential)
		dc, _ := startDeviceFlow(t, s, scope)
		status, body := pollDevice(t, s, grantDeviceCodeURN, dc)
		checkEntraError(t, status, body, 401, "invalid_client")
	})
	t.Run("unknown device code", func(t *testing.T) {
		s := newEntraServer(t, app)
		status, body := pollDevice(t, s, grantDeviceCodeURN, "made-up")
		checkEntraError(t, status, body, 400, "bad_verification_code")
	})
}

func refreshWith(t *testing.T, s *Server, rt, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {entraClientID}, "refresh_token": {rt}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return entraCall(t, s, "POST", entraTokenPath(entraTenant), form)
}

func TestRefreshTokenRotation(t *testing.T) {
	s := newEntraServer(t, App{Tenant: entraTenant, ClientID: entraClientID, PublicClient: true, Scopes: []string{"User.Read.All"}})
	const scope = "https://graph.microsoft.com/User.Read.All offline_access"
	dc, uc := startDeviceFlow(t, s, scope)
	_ = s.ApproveDevice(uc)
	_, body := pollDevice(t, s, grantDeviceCodeURN, dc)
	rt1 := body["refresh_token"].(string)

	status, body := refreshWith(t, s, rt1, "")
	checkEntraError(t, status, body, 400, "invalid_request") // scope is required

	status, body = refreshWith(t, s, rt1, scope)
	rt2, _ := body["refresh_token"].(string)
	if status != 200 || rt2 == "" || rt2 == rt1 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	status, body = refreshWith(t, s, rt1, scope)
	checkEntraError(t, status, body, 400, "invalid_grant") // rotated away

	s.RevokeRefreshTokens()
	status, body = refreshWith(t, s, rt2, scope)
	checkEntraError(t, status, body, 400, "invalid_grant")
	if d, _ := body["error_description"].(string); !strings.Contains(d, "AADSTS50173") {
		t.Errorf("revoked refresh: %q, want AADSTS50173", d)
	}
}

func TestTokenRequestsAndFaults(t *testing.T) {
	s := newEntraServer(t, App{Tenant: entraTenant, ClientID: entraClientID, ClientSecret: entraSecret, Roles: []string{"User.Read.All"}})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {entraClientID}, "client_secret": {entraSecret}, "scope": {s.Origin() + "/.default"}}
	entraCall(t, s, "GET", "/"+entraTenant+"/v2.0/.well-known/openid-configuration", nil)
	entraCall(t, s, "POST", entraTokenPath(entraTenant), form)
	s.AddFault(Fault{Method: "POST", Path: entraTokenPath(entraTenant), Status: 503, RetryAfter: "7", Times: 1})
	status, body := entraCall(t, s, "POST", entraTokenPath(entraTenant), form)
	checkEntraError(t, status, body, 503, "temporarily_unavailable")
	if status, _ := entraCall(t, s, "POST", entraTokenPath(entraTenant), form); status != 200 {
		t.Errorf("fault outlived Times: %d", status)
	}
	if n := s.TokenRequests(); n != 3 {
		t.Errorf("TokenRequests = %d, want 3 (the discovery GET is not one)", n)
	}
}
