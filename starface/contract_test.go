package starface_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

// The contract tests hold the client and the double to our own summary of the STARFACE API
// (../testdata/starface-api.yaml) on every clone, so that they cannot drift away from the
// real API together; and the summary (and, directly, the recorded exchanges) to STARFACE's
// own Swagger file whenever ../shared/api/ is there.

const swaggerPath = "../../shared/api/starface-api-6.7.0.22.yaml"

type swaggerDoc struct {
	Paths       map[string]map[string]swaggerOp `yaml:"paths"`
	Definitions map[string]*swaggerSchema       `yaml:"definitions"`
}

type swaggerOp struct {
	Parameters []swaggerParam `yaml:"parameters"`
	Responses  map[string]struct {
		Schema *swaggerSchema `yaml:"schema"`
	} `yaml:"responses"`
}

type swaggerParam struct {
	Name   string         `yaml:"name"`
	In     string         `yaml:"in"`
	Type   string         `yaml:"type"`
	Schema *swaggerSchema `yaml:"schema"`
}

type swaggerSchema struct {
	Ref        string                    `yaml:"$ref"`
	Type       string                    `yaml:"type"`
	Items      *swaggerSchema            `yaml:"items"`
	Properties map[string]*swaggerSchema `yaml:"properties"`
	Required   []string                  `yaml:"required"`
}

// loadSwagger reads the vendor's Swagger file when ../shared/api/ is there (it is not part of
// the repository) and returns nil otherwise; the caller logs which.
func loadSwagger(t *testing.T) *swaggerDoc {
	t.Helper()
	b, err := os.ReadFile(swaggerPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var d swaggerDoc
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatalf("parse swagger: %v", err)
	}
	return &d
}

// template finds the Swagger path for a request path (without /rest), preferring the one with
// the most literal segments (/users/me over /users/{userId}).
func (d *swaggerDoc) template(path string) (string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestLit := "", -1
	for tmpl := range d.Paths {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		lit := 0
		ok := true
		for i, s := range ts {
			switch {
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			case s == segs[i]:
				lit++
			default:
				ok = false
			}
		}
		if ok && lit > bestLit {
			best, bestLit = tmpl, lit
		}
	}
	return best, bestLit >= 0
}

func (d *swaggerDoc) resolve(s *swaggerSchema) *swaggerSchema {
	_, s = d.named(s)
	return s
}

// named resolves s and returns the name of the definition it is ("" for an inline schema).
func (d *swaggerDoc) named(s *swaggerSchema) (string, *swaggerSchema) {
	name := ""
	for s != nil && s.Ref != "" {
		name = strings.TrimPrefix(s.Ref, "#/definitions/")
		s = d.Definitions[name]
	}
	return name, s
}

// swaggerSubtypes names the concrete definitions of the Swagger file's abstract bases, which
// it gives no discriminator: a value is checked against the definition its type field names,
// a summary schema against the base and all of them together.
var swaggerSubtypes = map[string]struct {
	by    string
	types map[string]string
}{
	"RedirectDestination": {"redirectDestinationType", map[string]string{
		"MAILBOX": "RedirectMailboxDestination", "PHONENUMBER": "RedirectPhoneNumberDestination"}},
}

// swaggerUndeclared lists properties a PBX sends, by third-party accounts, that the Swagger
// file does not declare (the summary marks them source: third-party): the TIMEOUT trigger's
// seconds, which the file's abstract RedirectTrigger has no subtype for.
var swaggerUndeclared = map[string][]string{"RedirectTrigger": {"timeout"}}

// union is an abstract base with the properties of all its concrete definitions; required
// are the base's.
func (d *swaggerDoc) union(name string, base *swaggerSchema) *swaggerSchema {
	u := &swaggerSchema{Type: base.Type, Required: base.Required, Properties: map[string]*swaggerSchema{}}
	for k, p := range base.Properties {
		u.Properties[k] = p
	}
	for _, sub := range swaggerSubtypes[name].types {
		for k, p := range d.Definitions[sub].Properties {
			u.Properties[k] = p
		}
	}
	return u
}

// check validates decoded JSON (numbers as json.Number) against a schema: only declared
// properties, required ones present, JSON types as declared. null passes (STARFACE sends
// "secret": null in the login template).
func (d *swaggerDoc) check(where string, v any, s *swaggerSchema) []string {
	name, s := d.named(s)
	if s == nil || v == nil {
		return nil
	}
	if sub, ok := swaggerSubtypes[name]; ok {
		m, _ := v.(map[string]any)
		if t, _ := m[sub.by].(string); sub.types[t] != "" {
			return d.check(where, v, &swaggerSchema{Ref: "#/definitions/" + sub.types[t]})
		}
	}
	typ := s.Type
	if typ == "" && s.Properties != nil {
		typ = "object"
	}
	bad := func(format string, args ...any) []string {
		return []string{where + ": " + fmt.Sprintf(format, args...)}
	}
	switch typ {
	case "array":
		a, ok := v.([]any)
		if !ok {
			return bad("want an array, got %T", v)
		}
		var errs []string
		for i, e := range a {
			errs = append(errs, d.check(fmt.Sprintf("%s[%d]", where, i), e, s.Items)...)
		}
		return errs
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return bad("want an object, got %T", v)
		}
		var errs []string
		for _, k := range sortedKeys(m) {
			ps, declared := s.Properties[k]
			if !declared && !slices.Contains(swaggerUndeclared[name], k) {
				errs = append(errs, bad("property %q is not declared", k)...)
			}
			if !declared {
				continue
			}
			errs = append(errs, d.check(where+"."+k, m[k], ps)...)
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				errs = append(errs, bad("required property %q missing", r)...)
			}
		}
		return errs
	case "integer":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			return bad("want an integer, got %v", v)
		}
	case "number":
		if _, ok := v.(json.Number); !ok {
			return bad("want a number, got %v", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad("want a boolean, got %v", v)
		}
	case "string":
		if _, ok := v.(string); !ok {
			return bad("want a string, got %v", v)
		}
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// verify checks one recorded exchange against the Swagger file.
func (d *swaggerDoc) verify(r starfacetest.Request) (string, []string) {
	rest, ok := strings.CutPrefix(r.Path, "/rest/")
	if !ok {
		return "", []string{r.Path + ": not under /rest"}
	}
	tmpl, ok := d.template("/" + rest)
	if !ok {
		return "", []string{r.Path + ": no such path in the Swagger file"}
	}
	method := strings.ToLower(r.Method)
	op, ok := d.Paths[tmpl][method]
	if !ok {
		return "", []string{fmt.Sprintf("%s %s: method not declared for %s", r.Method, r.Path, tmpl)}
	}
	key := r.Method + " " + tmpl
	var errs []string
	if len(r.Body) > 0 {
		var body *swaggerSchema
		for _, p := range op.Parameters {
			if p.In == "body" {
				body = p.Schema
			}
		}
		if body == nil {
			return key, []string{key + ": the client sent a body the operation does not take"}
		}
		v, err := decodeJSON(r.Body)
		if err != nil {
			return key, []string{key + ": request body is not JSON"}
		}
		errs = append(errs, d.check(key+" request", v, body)...)
		// The client sends every declared property (all four phone config fields; the
		// login's secret, which the schema does not mark required).
		if m, ok := v.(map[string]any); ok {
			for p := range d.resolve(body).Properties {
				if _, ok := m[p]; !ok {
					errs = append(errs, fmt.Sprintf("%s request: declared property %q not sent", key, p))
				}
			}
		}
	}
	if r.Status >= 200 && r.Status < 300 && len(bytes.TrimSpace(r.Response)) > 0 {
		resp, ok := op.Responses[fmt.Sprint(r.Status)]
		if !ok || resp.Schema == nil {
			return key, append(errs, fmt.Sprintf("%s: the double answered %d with a body, the Swagger file declares none", key, r.Status))
		}
		v, err := decodeJSON(r.Response)
		if err != nil {
			return key, append(errs, key+": response is not JSON")
		}
		errs = append(errs, d.check(fmt.Sprintf("%s response %d", key, r.Status), v, resp.Schema)...)
	}
	return key, errs
}

// compareSwagger holds the summary to the vendor's Swagger file: every operation and status
// marked source: swagger exists there; request schemas name exactly the Swagger properties,
// with the same types and the same required ones; response fields exist with the same types.
func compareSwagger(sum *apiSummary, d *swaggerDoc) []string {
	var errs []string
	for _, op := range sum.Operations {
		if op.Source != "swagger" {
			continue
		}
		key := op.Method + " " + op.Path
		sop, ok := d.Paths[strings.TrimPrefix(op.Path, "/rest")][strings.ToLower(op.Method)]
		if !ok {
			errs = append(errs, key+": not in the Swagger file")
			continue
		}
		for _, r := range sum.responsesFor(op) {
			if r.Source != "swagger" {
				continue
			}
			if _, ok := sop.Responses[fmt.Sprint(r.Status)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: status %d is not in the Swagger file", key, r.Status))
				continue
			}
			if r.Status/100 == 2 && r.Body != "" {
				errs = append(errs, d.compare(sum, fmt.Sprintf("%s %d", key, r.Status), r.Body, sop.Responses[fmt.Sprint(r.Status)].Schema, false)...)
			}
		}
		for _, qname := range sortedFieldNames(op.Query) {
			i := slices.IndexFunc(sop.Parameters, func(p swaggerParam) bool { return p.In == "query" && p.Name == qname })
			switch {
			case i < 0:
				errs = append(errs, fmt.Sprintf("%s: query parameter %s is not in the Swagger file", key, qname))
			case sop.Parameters[i].Type != op.Query[qname].Type:
				errs = append(errs, fmt.Sprintf("%s: query parameter %s: summary says %s, Swagger %s", key, qname, op.Query[qname].Type, sop.Parameters[i].Type))
			}
		}
		if op.Request != nil {
			var body *swaggerSchema
			for _, p := range sop.Parameters {
				if p.In == "body" {
					body = p.Schema
				}
			}
			if body == nil {
				errs = append(errs, key+": the Swagger file takes no body")
				continue
			}
			errs = append(errs, d.compare(sum, key+" request", op.Request.Body, body, true)...)
		}
	}
	return errs
}

func (d *swaggerDoc) compare(sum *apiSummary, where, name string, sw *swaggerSchema, request bool) []string {
	sc := sum.Schemas[name]
	swName, sw := d.named(sw)
	if sc == nil || sw == nil {
		return []string{where + ": no schema to compare"}
	}
	if _, abstract := swaggerSubtypes[swName]; abstract {
		sw = d.union(swName, sw)
	}
	if sc.Items != "" {
		if sw.Type != "array" {
			return []string{fmt.Sprintf("%s: summary %s is an array, Swagger says %q", where, name, sw.Type)}
		}
		return d.compare(sum, where+"[]", sc.Items, sw.Items, request)
	}
	var errs []string
	for _, fname := range sortedFieldNames(sc.Fields) {
		f := sc.Fields[fname]
		if f.Source != "" && f.Source != "swagger" {
			continue // known from elsewhere; the Swagger file is not its source
		}
		p := d.resolve(sw.Properties[fname])
		w := where + "." + fname
		if p == nil {
			errs = append(errs, w+": not a Swagger property of "+name)
			continue
		}
		typ := p.Type
		if typ == "" && p.Properties != nil {
			typ = "object"
		}
		if typ != f.Type {
			errs = append(errs, fmt.Sprintf("%s: summary says %s, Swagger %s", w, f.Type, typ))
		}
		if request && f.Required != slices.Contains(sw.Required, fname) {
			errs = append(errs, fmt.Sprintf("%s: summary says required=%t, Swagger the opposite", w, f.Required))
		}
		switch items := d.resolve(p.Items); {
		case slices.Contains(sumTypes, f.Items):
			if items == nil || items.Type != f.Items {
				errs = append(errs, fmt.Sprintf("%s: summary says items of %s, Swagger not", w, f.Items))
			}
		case f.Items != "":
			errs = append(errs, d.compare(sum, w, f.Items, p.Items, request)...)
		}
		if f.Schema != "" {
			errs = append(errs, d.compare(sum, w, f.Schema, sw.Properties[fname], request)...)
		}
	}
	if request {
		for p := range sw.Properties {
			if _, ok := sc.Fields[p]; !ok {
				errs = append(errs, fmt.Sprintf("%s: Swagger property %q is not in the summary", where, p))
			}
		}
	}
	return errs
}

func TestSummaryConsistent(t *testing.T) {
	sum := loadSummary(t)
	for _, e := range sum.consistency() {
		t.Error(e)
	}
}

// The summary agrees with the vendor's Swagger file, when it is there.
func TestSummaryAgainstSwagger(t *testing.T) {
	sum := loadSummary(t)
	d := loadSwagger(t)
	if d == nil {
		t.Logf("%s not present: the summary is checked on its own only", swaggerPath)
		return
	}
	t.Logf("comparing the summary with %s", swaggerPath)
	for _, e := range compareSwagger(sum, d) {
		t.Error(e)
	}
}

// contractScenario drives the client through every operation teamsface uses, plus the
// double's other routes and its refusals through raw requests. Requests the client sent carry
// its User-Agent.
func contractScenario(t *testing.T) *starfacetest.Server {
	t.Helper()
	s := newServer(t)
	var noPhone starface.PhoneConfig // a user without a phone: null ids, sent back as read
	if err := json.Unmarshal([]byte(`{"callWaiting":false,"displayNumberId":null,"doNotDisturb":false,"primaryPhoneId":null}`), &noPhone); err != nil {
		t.Fatal(err)
	}
	s.AddUser(starfacetest.User{ID: 40, Login: "0040", Phone: noPhone})
	s.AddNumber(17, "201")
	s.AddNumber(18, "202")
	s.AddGroupNumber(5, "800")
	s.AddVoicemailBox(starfacetest.VoicemailBox{ID: 5, Name: "Alice", Number: "5201", Password: "1234", UserIDs: []int{17}})
	s.AddVoicemailBox(starfacetest.VoicemailBox{ID: 7, Name: "Bob", Number: "5202", Password: "5678", UserIDs: []int{18}, GroupIDs: []int{6}})
	c := newClient(t, s, nil)
	ctx := context.Background()
	alice := starface.UserRef{ID: 17, Login: "0003"}
	var rs []starface.Redirect
	steps := []func() error{
		func() error { return switchDND(ctx, c, 40, true) },
		func() error { _, err := c.Users(ctx); return err },
		func() error { _, err := c.GroupMembers(ctx, "sales"); return err },
		func() error { return switchDND(ctx, c, 17, true) },
		func() error { return switchDND(ctx, c, 17, false) },
		func() error { return c.CheckWrite(ctx, 18) },
		func() error { _, err := c.Rights(ctx); return err },
		func() error { s.ExpireTokens(); _, err := c.PhoneConfig(ctx, 1); return err },
		func() error { var err error; rs, err = c.Redirects(ctx, alice); return err },
		func() error { _, err := c.Redirect(ctx, alice, rs[0].ID()); return err },
		func() error { return c.PutRedirect(ctx, alice, rs[0].WithTarget(true, starface.MailboxDestination(5))) },
		func() error { return c.PutRedirect(ctx, alice, rs[0]) },
		func() error { _, err := c.VoicemailBoxes(ctx); return err },
		func() error { // a PBX that takes the login only: the id refused, the login taken
			s.SetActOnBehalfOf(starfacetest.BehalfByLogin)
			defer s.SetActOnBehalfOf(starfacetest.BehalfByID)
			_, err := newClient(t, s, nil).Redirects(ctx, alice)
			return err
		},
		func() error { return c.Logout(ctx) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	// The client's refusals: a wrong password, a non-administrator writing another user.
	wrong := newClient(t, s, func(o *starface.Options) { o.Password = "wrong" })
	if _, err := wrong.Users(ctx); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := c.PutRedirect(ctx, alice, rs[0].WithTarget(true, starface.MailboxDestination(99))); err == nil {
		t.Fatal("a redirect to a box the PBX does not have was accepted")
	}
	if _, err := c.Redirect(ctx, alice, "no-such-redirect"); err == nil {
		t.Fatal("an unknown redirect was found")
	}
	aliceC := newClient(t, s, func(o *starface.Options) { o.Login, o.Password = "0003", alicePW })
	if _, err := aliceC.Redirects(ctx, starface.UserRef{ID: 18, Login: "0004"}); err == nil {
		t.Fatal("a non-administrator listed another user's redirects")
	}
	if err := aliceC.CheckWrite(ctx, 1); err == nil {
		t.Fatal("non-administrator wrote another user's config")
	}
	tok := lastToken(s)
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/rest/users/me", ""},
		{"GET", "/rest/users/17", ""},
		{"GET", "/rest/users/99", ""},
		{"GET", "/rest/users/99/phoneconfig", ""},
		{"PUT", "/rest/users/99/phoneconfig", `{"callWaiting":true,"displayNumberId":1,"doNotDisturb":false,"primaryPhoneId":2}`},
		{"PUT", "/rest/users/17/phoneconfig", `{"callWaiting":true}`},
		{"GET", "/rest/groups/99", ""},
		{"GET", "/rest/redirects?actOnBehalfOf=alice", ""},
		{"PUT", "/rest/redirects/no-such-redirect?actOnBehalfOf=17", `{"id":"no-such-redirect","enabled":true}`},
		{"PUT", "/rest/redirects/201-ALWAYS?actOnBehalfOf=17", `{"id":"201-ALWAYS","enabled":true,"redirectTrigger":{"redirectTriggerType":"ALWAYS"}}`},
		{"GET", "/rest/voicemailboxes/99", ""},
		{"GET", "/rest/voicemailboxes/7", ""}, // Bob's, read by Alice
	} {
		req, _ := newRawRequest(r.method, s.URL+r.path, tok)
		if r.body != "" {
			req.Body = io.NopCloser(strings.NewReader(r.body))
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	req, _ := http.NewRequest("GET", s.URL+"/rest/users", nil) // no X-Version
	req.Header.Set("authToken", tok)
	if res, err := s.Client().Do(req); err == nil {
		res.Body.Close()
	}
	return s
}

func lastToken(s *starfacetest.Server) string {
	var tok string
	for _, r := range s.Requests() {
		if r.Path == "/rest/login" && r.Method == "POST" && r.Status == 200 {
			var b struct{ Token string }
			_ = json.Unmarshal(r.Response, &b)
			tok = b.Token
		}
	}
	return tok
}

// checkExchanges holds every recorded request of the client (its User-Agent) and every answer
// of the double to the summary and returns the operations and "operation status" pairs seen.
func checkExchanges(t *testing.T, sum *apiSummary, s *starfacetest.Server) (seen, statuses map[string]bool) {
	t.Helper()
	seen, statuses = map[string]bool{}, map[string]bool{}
	for _, r := range s.Requests() {
		if r.Header.Get("User-Agent") == "teamsface" {
			for _, e := range sum.checkRequest(r) {
				t.Error(e)
			}
		}
		for _, e := range sum.checkResponse(r) {
			t.Error(e)
		}
		if op := sum.find(r.Method, r.Path); op != nil {
			seen[op.ID] = true
			statuses[fmt.Sprintf("%s %d", op.ID, r.Status)] = true
		}
	}
	for _, e := range sum.checkRoutes(s.Routes()) {
		t.Error(e)
	}
	return seen, statuses
}

// Client and double against the summary, always.
func TestContract(t *testing.T) {
	sum := loadSummary(t)
	s := contractScenario(t)
	seen, statuses := checkExchanges(t, sum, s)
	// The scenario exercised every /rest operation of the summary, and the double the
	// refusals the client relies on.
	for _, op := range sum.Operations {
		if strings.HasPrefix(op.Path, "/rest/") && !seen[op.ID] {
			t.Errorf("scenario did not exercise %s (%s %s)", op.ID, op.Method, op.Path)
		}
	}
	for _, want := range []string{"login 400", "put-phone-config 403", "put-phone-config 400", "get-user 404", "get-phone-config 401", "list-users 400",
		"list-redirects 400", "list-redirects 403", "list-redirects 404", "get-redirect 404", "put-redirect 204", "put-redirect 400",
		"put-redirect 404", "get-voicemail-box 403", "get-voicemail-box 404"} {
		if !statuses[want] {
			t.Errorf("scenario did not see %s", want)
		}
	}

	// The recorded exchanges against the vendor's Swagger file directly, when it is there:
	// stricter than the summary (no undeclared property in the double's answers).
	d := loadSwagger(t)
	if d == nil {
		t.Logf("%s not present: checked against the summary only", swaggerPath)
		return
	}
	t.Logf("also checking the exchanges against %s", swaggerPath)
	for _, r := range s.Requests() {
		if r.Status/100 != 2 {
			continue // the Swagger file declares no usable error bodies
		}
		if _, errs := d.verify(r); len(errs) > 0 {
			t.Error(errs)
		}
	}
}

// The STARFACE 10 sign-in against the summary: discovery through the redirect, password and
// refresh grants with Basic and form client authentication, Bearer on /rest, and the realm's
// refusals; and a 9.x PBX's discovery.
func TestContractOAuth(t *testing.T) {
	sum := loadSummary(t)
	s := newServer(t)
	s.EnableRealm(starfacetest.Realm{ClientSecret: clientSecret, Scopes: []string{"login"}})
	s.DisableClassicLogin()
	s.GrantRight(1, starface.RightOAuthPasswordGrant)
	ctx := context.Background()
	oauth := func(mod func(*starface.Options)) *starface.Client {
		return newClient(t, s, func(o *starface.Options) {
			o.ClientSecret = clientSecret
			if mod != nil {
				mod(o)
			}
		})
	}
	c := oauth(nil) // scope pbx-login refused, login taken
	steps := []func() error{
		func() error { _, err := c.Users(ctx); return err },
		func() error { return switchDND(ctx, c, 17, true) },
		func() error { _, err := c.Rights(ctx); return err },
		func() error { s.ExpireTokens(); _, err := c.PhoneConfig(ctx, 1); return err }, // 401, refresh
		func() error { s.RevokeSessions(); _, err := c.Groups(ctx); return err },       // refresh refused
		func() error { return c.Logout(ctx) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	// The realm's refusals, and form client authentication.
	refusals := []func(*starface.Options){
		func(o *starface.Options) { o.ClientSecret = "wrong" },
		func(o *starface.Options) { o.Password = "wrong" },
		func(o *starface.Options) { o.Login, o.Password = "0003", alicePW },
		func(o *starface.Options) { o.Scope = "other" },
		func(o *starface.Options) { o.ClientSecret = "" }, // no classic login either
	}
	for _, mod := range refusals {
		if _, err := oauth(mod).Users(ctx); err == nil {
			t.Fatal("a refused sign-in succeeded")
		}
	}
	form := newServer(t)
	form.EnableRealm(starfacetest.Realm{ClientSecret: clientSecret, RefuseBasic: true})
	form.GrantRight(1, starface.RightOAuthPasswordGrant)
	if _, err := newClient(t, form, func(o *starface.Options) { o.ClientSecret, o.Auth = clientSecret, "oauth" }).Users(ctx); err != nil {
		t.Fatal(err)
	}
	old := newServer(t) // 9.x: no realm
	if _, err := newClient(t, old, func(o *starface.Options) { o.ClientSecret = clientSecret }).Users(ctx); err != nil {
		t.Fatal(err)
	}
	seen, statuses := checkExchanges(t, sum, s)
	seenForm, _ := checkExchanges(t, sum, form)
	_, statusesOld := checkExchanges(t, sum, old)
	for _, op := range []string{"discovery", "realm-discovery", "token", "list-users", "put-phone-config", "own-permissions"} {
		if !seen[op] {
			t.Errorf("scenario did not exercise %s", op)
		}
	}
	if !seenForm["token"] {
		t.Error("form client authentication not exercised")
	}
	for _, want := range []string{"token 200", "token 400", "token 401", "token 403", "login-template 404", "get-phone-config 401", "discovery 302"} {
		if !statuses[want] {
			t.Errorf("scenario did not see %s (saw %v)", want, statuses)
		}
	}
	if !statusesOld["discovery 404"] {
		t.Error("a 9.x PBX's discovery 404 not seen")
	}
}

// The checkers must notice drift, or the contract tests prove nothing.
func TestContractCheckerCatchesDrift(t *testing.T) {
	sum := loadSummary(t)
	client := http.Header{"X-Version": {"2"}, "Authtoken": {"t"}}
	phone := []byte(`{"callWaiting":true,"displayNumberId":1,"doNotDisturb":false,"primaryPhoneId":2}`)
	tests := []struct {
		name    string
		r       starfacetest.Request
		request bool // check as a client request, else as the double's answer
		want    string
	}{
		{"unknown path", starfacetest.Request{Method: "GET", Path: "/rest/presence", Header: client}, true, "does not list"},
		{"unknown method", starfacetest.Request{Method: "PATCH", Path: "/rest/users/3/phoneconfig", Header: client}, true, "does not list"},
		{"no X-Version", starfacetest.Request{Method: "GET", Path: "/rest/users", Header: http.Header{"Authtoken": {"t"}}}, true, "header X-Version"},
		{"no token", starfacetest.Request{Method: "GET", Path: "/rest/users", Header: http.Header{"X-Version": {"2"}}}, true, "exactly one of"},
		{"token on the login", starfacetest.Request{Method: "GET", Path: "/rest/login", Header: client}, true, "takes none"},
		{"missing phone config field", starfacetest.Request{Method: "PUT", Path: "/rest/users/3/phoneconfig",
			Header: withCT(client), Body: []byte(`{"callWaiting":true,"doNotDisturb":false,"primaryPhoneId":2}`)}, true, `required field "displayNumberId" missing`},
		{"unlisted request field", starfacetest.Request{Method: "PUT", Path: "/rest/users/3/phoneconfig",
			Header: withCT(client), Body: []byte(`{"callWaiting":true,"displayNumberId":1,"doNotDisturb":false,"primaryPhoneId":2,"x":1}`)}, true, `field "x" is not listed`},
		{"wrong request type", starfacetest.Request{Method: "PUT", Path: "/rest/users/3/phoneconfig",
			Header: withCT(client), Body: []byte(`{"callWaiting":true,"displayNumberId":"1","doNotDisturb":false,"primaryPhoneId":2}`)}, true, "want integer"},
		{"body where none is taken", starfacetest.Request{Method: "GET", Path: "/rest/users", Header: client, Body: []byte(`{}`)}, true, "does not take"},
		{"unlisted status", starfacetest.Request{Method: "GET", Path: "/rest/users", Status: 418}, false, "status not listed"},
		{"response field missing", starfacetest.Request{Method: "GET", Path: "/rest/groups", Status: 200,
			Response: []byte(`[{"id":1,"name":"a"}]`)}, false, `required field "groupname" missing`},
		{"wrong response type", starfacetest.Request{Method: "GET", Path: "/rest/users/3/phoneconfig", Status: 200,
			Response: []byte(`{"callWaiting":true,"displayNumberId":"1","doNotDisturb":false,"primaryPhoneId":2}`)}, false, "want integer"},
		{"null where not nullable", starfacetest.Request{Method: "GET", Path: "/rest/users", Status: 200,
			Response: []byte(`[{"id":1,"login":null,"email":"","firstName":"","familyName":""}]`)}, false, `field "login" is null`},
		{"body on a 204", starfacetest.Request{Method: "PUT", Path: "/rest/users/3/phoneconfig", Status: 204,
			Body: phone, Response: []byte(`{}`)}, false, "lists none"},
		{"error not in STARFACE's shape", starfacetest.Request{Method: "GET", Path: "/rest/users", Status: 500,
			Response: []byte(`{"error":"x"}`)}, false, `required field "code" missing`},
		{"no actOnBehalfOf", starfacetest.Request{Method: "PUT", Path: "/rest/redirects/a", Header: withCT(client),
			Body: []byte(`{"id":"a","enabled":true,"redirectTrigger":{"redirectTriggerType":"ALWAYS"},"redirectDestination":{"redirectDestinationType":"MAILBOX","mailboxId":"5"}}`)}, true,
			`query parameter "actOnBehalfOf" missing`},
		{"unlisted query parameter", starfacetest.Request{Method: "GET", Path: "/rest/redirects", Query: "actOnBehalfOf=17&x=1", Header: client}, true,
			`query parameter "x" is not listed`},
		{"actOnBehalfOf twice", starfacetest.Request{Method: "GET", Path: "/rest/redirects/a", Query: "actOnBehalfOf=17&actOnBehalfOf=0003", Header: client}, true,
			"sent 2 times"},
		{"redirect without enabled", starfacetest.Request{Method: "PUT", Path: "/rest/redirects/a", Query: "actOnBehalfOf=17", Header: withCT(client),
			Body: []byte(`{"id":"a","redirectTrigger":{"redirectTriggerType":"ALWAYS"},"redirectDestination":{"redirectDestinationType":"MAILBOX","mailboxId":"5"}}`)}, true,
			`required field "enabled" missing`},
		{"destination without its type", starfacetest.Request{Method: "PUT", Path: "/rest/redirects/a", Query: "actOnBehalfOf=17", Header: withCT(client),
			Body: []byte(`{"id":"a","enabled":true,"redirectTrigger":{"redirectTriggerType":"ALWAYS"},"redirectDestination":{"mailboxId":"5"}}`)}, true,
			`required field "redirectDestinationType" missing`},
		{"redirect without groupNumber", starfacetest.Request{Method: "GET", Path: "/rest/redirects", Status: 200,
			Response: []byte(`[{"id":"a","enabled":true,"phoneNumber":"201","redirectTrigger":{"redirectTriggerType":"ALWAYS"},"redirectDestination":{"redirectDestinationType":"MAILBOX","mailboxId":"5"}}]`)}, false,
			`required field "groupNumber" missing`},
		{"box detail without voicemailUsers", starfacetest.Request{Method: "GET", Path: "/rest/voicemailboxes/5", Status: 200,
			Response: []byte(`{"id":5,"name":"x"}`)}, false, `required field "voicemailUsers" missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errs []string
			if tt.request {
				errs = sum.checkRequest(tt.r)
			} else {
				errs = sum.checkResponse(tt.r)
			}
			if !strings.Contains(strings.Join(errs, "\n"), tt.want) {
				t.Errorf("errors %q lack %q", errs, tt.want)
			}
		})
	}
	if errs := sum.checkRoutes([]string{"GET /rest/users/{id}", "GET /rest/presence"}); len(errs) != 1 || !strings.Contains(errs[0], "/rest/presence") {
		t.Errorf("checkRoutes = %q, want one error for /rest/presence", errs)
	}

	// A summary that drifted from the Swagger file is caught too, when the file is there.
	d := loadSwagger(t)
	if d == nil {
		t.Logf("%s not present: the Swagger comparison's own drift cases are not run", swaggerPath)
		return
	}
	drifted := loadSummary(t)
	drifted.Schemas["PhoneConfig"].Fields["doNotDisturb"].Type = "string"
	drifted.Schemas["User"].Fields["mail"] = &sumField{Type: "string"}
	delete(drifted.Schemas["PhoneConfig"].Fields, "callWaiting")
	drifted.Operations = append(drifted.Operations, &sumOp{ID: "x", Method: "GET", Path: "/rest/presence", Auth: "token", Source: "swagger"})
	drifted.Schemas["RedirectDestination"].Fields["mailboxId"].Type = "integer"
	drifted.Schemas["RedirectTrigger"].Fields["timeout"].Source = "" // a third-party field claimed for the Swagger file
	drifted.find("GET", "/rest/redirects").Query["actOnBehalf"] = &sumField{Type: "string"}
	drifted.find("GET", "/rest/redirects/x").Query["actOnBehalfOf"].Type = "integer"
	got := strings.Join(compareSwagger(drifted, d), "\n")
	for _, want := range []string{"doNotDisturb: summary says string", `mail: not a Swagger property`, `"callWaiting" is not in the summary`, "GET /rest/presence: not in the Swagger file",
		"redirectDestination.mailboxId: summary says integer, Swagger string", "redirectTrigger.timeout: not a Swagger property",
		"GET /rest/redirects: query parameter actOnBehalf is not in the Swagger file", "query parameter actOnBehalfOf: summary says integer, Swagger string"} {
		if !strings.Contains(got, want) {
			t.Errorf("Swagger comparison of a drifted summary lacks %q:\n%s", want, got)
		}
	}

	// And an exchange checked against the Swagger file directly: a destination is held to the
	// concrete definition its type names, and only the TIMEOUT trigger's seconds are let pass.
	put := func(dest, trigger string) starfacetest.Request {
		return starfacetest.Request{Method: "PUT", Path: "/rest/redirects/a", Status: 204, Body: []byte(`{"id":"a","enabled":true,` +
			`"phoneNumber":"201","groupNumber":false,"lastMailboxDestination":null,"lastPhoneNumberDestination":null,` +
			`"redirectTrigger":` + trigger + `,"redirectDestination":` + dest + `}`)}
	}
	for _, tt := range []struct {
		r    starfacetest.Request
		want string // "" no error
	}{
		{put(`{"redirectDestinationType":"MAILBOX","mailboxId":"5"}`, `{"redirectTriggerType":"TIMEOUT","timeout":20}`), ""},
		{put(`{"redirectDestinationType":"MAILBOX","mailboxId":"5","phoneNumber":"1"}`, `{"redirectTriggerType":"ALWAYS"}`), `property "phoneNumber" is not declared`},
		{put(`{"redirectDestinationType":"PHONENUMBER"}`, `{"redirectTriggerType":"ALWAYS"}`), `required property "phoneNumber" missing`},
		{put(`{"redirectDestinationType":"MAILBOX","mailboxId":5}`, `{"redirectTriggerType":"ALWAYS"}`), "want a string"},
		{put(`{"redirectDestinationType":"MAILBOX","mailboxId":"5"}`, `{"redirectTriggerType":"ALWAYS","delay":3}`), `property "delay" is not declared`},
	} {
		_, errs := d.verify(tt.r)
		got := strings.Join(errs, "\n")
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("verify %s: %q, want %q", tt.r.Body, got, tt.want)
		}
	}
}

func withCT(h http.Header) http.Header {
	h = h.Clone()
	h.Set("Content-Type", "application/json")
	return h
}
