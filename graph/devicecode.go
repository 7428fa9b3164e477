package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Device-code sign-in (delegated) for tenants that want a signed-in account rather than an app
// secret. golang.org/x/oauth2 makes the device authorization request from an endpoint built per
// cloud (its microsoft helper is fixed to the global cloud). The polling and the refresh are done
// here rather than by x/oauth2 because:
//   - Config.DeviceAccessToken waits on a real ticker (at least one whole second per poll, +5 s per
//     slow_down, which it does implement per RFC 8628 §3.5), so tests could not run it quickly;
//   - its refresher sends no `scope`, which Entra's v2 endpoint requires on a refresh
//     (golang/oauth2#540), and it cannot surface a rotated refresh token for us to persist.
// Wire format from Microsoft's "OAuth 2.0 device authorization grant" page (see graph.md).

const deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

// loginHint is the part of every message that tells the admin how to recover.
const loginHint = "run `teamsface login`"

// DeviceLogin runs `teamsface login` for device-code mode: it asks Entra for a code, writes the
// verification URL and the code to prompt, polls until the user has signed in (or declined, or the
// code expired) and stores the access and refresh tokens in cfg.CacheDir.
func DeviceLogin(ctx context.Context, cfg AuthConfig, prompt io.Writer) error {
	if cfg.Mode != ModeDeviceCode {
		return &ConfigError{Field: "microsoft.auth", Msg: fmt.Sprintf("device-code login needs auth: %s (this configuration uses %s, which signs in by itself)", ModeDeviceCode, cfg.Mode)}
	}
	t, err := NewTokenSource(cfg)
	if err != nil {
		return err
	}
	return t.deviceLogin(ctx, prompt)
}

func (t *CachedTokenSource) endpoint() oauth2.Endpoint {
	base := t.cfg.Cloud.AuthorityHost + "/" + url.PathEscape(t.cfg.Tenant) + "/oauth2/v2.0"
	return oauth2.Endpoint{
		DeviceAuthURL: base + "/devicecode",
		TokenURL:      base + "/token",
		// A public client has no secret; x/oauth2's default would first try HTTP Basic with an
		// empty password and send every request twice.
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

func (t *CachedTokenSource) httpClient() *http.Client {
	if t.cfg.HTTPClient != nil {
		return t.cfg.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// deviceLogin holds mu throughout: the helpers it shares with Token expect it held.
func (t *CachedTokenSource) deviceLogin(ctx context.Context, prompt io.Writer) error {
	const op = "device code login"
	t.mu.Lock()
	defer t.mu.Unlock()
	conf := &oauth2.Config{ClientID: t.cfg.ClientID, Endpoint: t.endpoint(), Scopes: t.scopes}
	da, err := conf.DeviceAuth(context.WithValue(ctx, oauth2.HTTPClient, t.httpClient()))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			ee := parseEntraError(re.Response.StatusCode, re.Body)
			if !ee.transient() {
				return &AuthError{Op: op, Msg: ee.Error() + deviceCodeAdvice(ee), Err: ee}
			}
			return &redactedError{msg: "graph: " + op + ": entra: " + ee.Error(), err: ee}
		}
		return &redactedError{msg: "graph: " + op + ": " + oneLine(t.redact(err.Error())), err: err}
	}
	t.remember(da.DeviceCode)

	// x/oauth2 does not keep Entra's `message`; this is its English wording.
	fmt.Fprintf(prompt, "To sign in, use a web browser to open the page %s and enter the code %s to authenticate.\n",
		da.VerificationURI, da.UserCode)
	t.log.Info("graph: waiting for device code sign-in", "verification_uri", da.VerificationURI, "expires_at", da.Expiry)

	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628 §3.2 default
	}
	form := url.Values{"grant_type": {deviceCodeGrant}, "client_id": {t.cfg.ClientID}, "device_code": {da.DeviceCode}}
	for {
		if err := t.cfg.Sleep(ctx, interval); err != nil {
			return fmt.Errorf("graph: %s: %w", op, err)
		}
		if !da.Expiry.IsZero() && time.Now().After(da.Expiry) {
			return &AuthError{Op: op, Msg: "the code expired before sign-in was completed: " + loginHint + " again"}
		}
		tr, err := t.postToken(ctx, form)
		var ee *EntraError
		switch {
		case err == nil:
			t.saveDelegated(tr, "")
			if t.saveErr != nil {
				// The sign-in is worth nothing to later runs if it is not on disk.
				return fmt.Errorf("%w: signed in, but later runs cannot use the sign-in; fix the state directory and %s again", t.saveErr, loginHint)
			}
			fmt.Fprintln(prompt, "Signed in.")
			if tr.RefreshToken == "" {
				t.log.Warn("graph: Entra sent no refresh token (offline_access not granted): later runs cannot renew the sign-in")
			}
			return nil
		case !errors.As(err, &ee):
			return err
		case ee.Code == "authorization_pending":
			continue
		case ee.Code == "slow_down":
			interval += 5 * time.Second // RFC 8628 §3.5: for this and all later polls
			t.log.Debug("graph: Entra asked to poll more slowly", "interval", interval)
			continue
		case ee.transient():
			t.log.Warn("graph: Entra failed while waiting for sign-in, still polling", "status", ee.Status)
			continue
		case ee.Code == "authorization_declined" || ee.Code == "access_denied":
			return &AuthError{Op: op, Msg: "the sign-in was declined at the verification page", Err: ee}
		case ee.Code == "expired_token":
			return &AuthError{Op: op, Msg: "the code expired before sign-in was completed: " + loginHint + " again", Err: ee}
		case ee.Code == "bad_verification_code":
			return &AuthError{Op: op, Msg: "Entra did not recognise the device code: " + loginHint + " again", Err: ee}
		default:
			return &AuthError{Op: op, Msg: ee.Error() + deviceCodeAdvice(ee), Err: ee}
		}
	}
}

// deviceCodeAdvice adds the fix for the most common mistakes.
func deviceCodeAdvice(ee *EntraError) string {
	switch {
	case slices.Contains(ee.ErrorCodes, aadstsNoSuchScope):
		return noDelegatedFormAdvice
	case ee.Code == "invalid_client":
		return " (for device code the app registration needs \"Allow public client flows\" switched on)"
	}
	return ""
}

// aadstsNoSuchScope is Entra's AADSTS650053, "asked for scope '...' that doesn't exist on the
// resource": in a user sign-in, what an application-only permission such as
// Presence.ReadWrite.All gets, as it has no delegated form.
const aadstsNoSuchScope = 650053

const noDelegatedFormAdvice = " (a permission asked for exists only as an application permission, which a signed-in account cannot have: use auth client-secret or client-certificate for it)"

// refreshLocked renews a delegated sign-in with the cached refresh token. Entra may rotate the
// refresh token; the newest one is persisted before the access token is handed out.
func (t *CachedTokenSource) refreshLocked(ctx context.Context) (string, error) {
	const op = "renew sign-in"
	rt := ""
	if t.cur != nil {
		rt = t.cur.RefreshToken
	}
	if rt == "" {
		return "", &AuthError{Op: op, Msg: "not signed in (no saved refresh token for this tenant and app): " + loginHint}
	}
	t.log.Debug("graph: refreshing access token", "tenant", t.cfg.Tenant, "client_id", t.cfg.ClientID)
	tr, err := t.postToken(ctx, url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {t.cfg.ClientID},
		"refresh_token": {rt},
		"scope":         {strings.Join(t.scopes, " ")},
	})
	if err != nil {
		var ee *EntraError
		if errors.As(err, &ee) && !ee.transient() {
			// invalid_grant: revoked, expired after inactivity, password changed, or consent for a
			// newly added scope missing. Only a new interactive sign-in fixes any of these.
			if slices.Contains(ee.ErrorCodes, aadstsNoSuchScope) {
				return "", &AuthError{Op: op, Msg: ee.Error() + noDelegatedFormAdvice, Err: ee}
			}
			return "", &AuthError{Op: op, Msg: "the saved sign-in was refused (" + ee.Error() + "): " + loginHint, Err: ee}
		}
		if ee != nil {
			// Entra itself failed (5xx, 429): postToken's *EntraError does not name the service.
			return "", &redactedError{msg: "graph: " + op + ": entra: " + ee.Error(), err: ee}
		}
		return "", err
	}
	f := t.saveDelegated(tr, rt)
	t.log.Info("graph: renewed sign-in", "tenant", t.cfg.Tenant, "expires_at", f.ExpiresAt)
	return f.AccessToken, nil
}

func (t *CachedTokenSource) saveDelegated(tr *tokenResponse, oldRefresh string) *tokenFile {
	f := &tokenFile{
		AccessToken:  tr.AccessToken,
		ExpiresAt:    t.cfg.Now().Add(time.Duration(tr.ExpiresIn) * time.Second),
		Scopes:       t.scopes,
		RefreshToken: tr.RefreshToken,
	}
	if f.RefreshToken == "" {
		f.RefreshToken = oldRefresh // Entra did not rotate it: the old one stays valid
	}
	t.store(f)
	return f
}

// tokenResponse is the answer of /oauth2/v2.0/token, success or error.
type tokenResponse struct {
	AccessToken      string        `json:"access_token"`
	RefreshToken     string        `json:"refresh_token"`
	ExpiresIn        flexibleInt   `json:"expires_in"`
	Scope            string        `json:"scope"`
	Error            string        `json:"error"`
	ErrorDescription string        `json:"error_description"`
	ErrorCodes       []flexibleInt `json:"error_codes"`
	TraceID          string        `json:"trace_id"`
}

// flexibleInt accepts a JSON number or a string holding one: Entra sends numbers, some proxies and
// older endpoints send strings.
type flexibleInt int64

func (n *flexibleInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil // lenient: an unreadable lifetime falls back to zero (token used once)
	}
	*n = flexibleInt(v)
	return nil
}

// postToken sends one form (mu held) to the token endpoint and returns the token or an *EntraError.
func (t *CachedTokenSource) postToken(ctx context.Context, form url.Values) (*tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint().TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("graph: token request: %s", t.redact(err.Error()))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := t.httpClient().Do(req)
	if err != nil {
		return nil, &redactedError{msg: "graph: token request: " + oneLine(t.redact(err.Error())), err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &redactedError{msg: "graph: token request: read answer: " + t.redact(err.Error()), err: err}
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK || tr.Error != "" {
		ee := parseEntraError(resp.StatusCode, body)
		ee.Description = t.redact(ee.Description)
		return nil, ee
	}
	if jsonErr != nil || tr.AccessToken == "" {
		return nil, fmt.Errorf("graph: token request: answer without an access token (http %d)", resp.StatusCode)
	}
	t.remember(tr.AccessToken, tr.RefreshToken)
	return &tr, nil
}

// parseEntraError reads Entra's error JSON {"error","error_description","error_codes",...}.
// The description's first line carries the AADSTS code and text; the rest repeats trace and
// correlation ids and a timestamp.
func parseEntraError(status int, body []byte) *EntraError {
	var tr tokenResponse
	_ = json.Unmarshal(body, &tr)
	ee := &EntraError{Status: status, Code: tr.Error, TraceID: tr.TraceID}
	desc, _, _ := strings.Cut(tr.ErrorDescription, "\n")
	ee.Description = strings.TrimSpace(desc)
	for _, c := range tr.ErrorCodes {
		ee.ErrorCodes = append(ee.ErrorCodes, int(c))
	}
	if ee.Code == "" && ee.Description == "" {
		ee.Description = http.StatusText(status)
	}
	return ee
}

// delegatedScopes is what device code asks for: Graph's presence and user read permissions, what
// the features add, and offline_access for a refresh token.
func delegatedScopes(graph string, extra []string) []string {
	out := []string{graph + "/Presence.Read.All", graph + "/User.Read.All"}
	for _, s := range extra {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			continue
		case s == "offline_access" || s == "openid" || s == "profile" || strings.Contains(s, "://"):
		default:
			s = graph + "/" + s
		}
		if !containsString(out, s) {
			out = append(out, s)
		}
	}
	if !containsString(out, "offline_access") {
		out = append(out, "offline_access")
	}
	return out
}
