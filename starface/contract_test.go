package starface_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/teamsface/teamsface/starface/starfacetest"
)

// The contract test holds both the client and the double to STARFACE's own Swagger file, so
// that they cannot drift away from the real API together.

const swaggerPath = "../../shared/api/starface-api-6.7.0.22.yaml"

type swaggerDoc struct {
	Paths       map[string]map[string]swaggerOp `yaml:"paths"`
	Definitions map[string]*swaggerSchema       `yaml:"definitions"`
}

type swaggerOp struct {
	Parameters []struct {
		In     string         `yaml:"in"`
		Schema *swaggerSchema `yaml:"schema"`
	} `yaml:"parameters"`
	Responses map[string]struct {
		Schema *swaggerSchema `yaml:"schema"`
	} `yaml:"responses"`
}

type swaggerSchema struct {
	Ref        string                    `yaml:"$ref"`
	Type       string                    `yaml:"type"`
	Items      *swaggerSchema            `yaml:"items"`
	Properties map[string]*swaggerSchema `yaml:"properties"`
	Required   []string                  `yaml:"required"`
}

func loadSwagger(t *testing.T) *swaggerDoc {
	t.Helper()
	b, err := os.ReadFile(swaggerPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not present", swaggerPath)
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
	for s != nil && s.Ref != "" {
		s = d.Definitions[strings.TrimPrefix(s.Ref, "#/definitions/")]
	}
	return s
}

// check validates decoded JSON (numbers as json.Number) against a schema: only declared
// properties, required ones present, JSON types as declared. null passes (STARFACE sends
// "secret": null in the login template).
func (d *swaggerDoc) check(where string, v any, s *swaggerSchema) []string {
	s = d.resolve(s)
	if s == nil || v == nil {
		return nil
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
			if !declared {
				errs = append(errs, bad("property %q is not declared", k)...)
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

func TestContract(t *testing.T) {
	d := loadSwagger(t)
	s := newServer(t)
	c := newClient(t, s, nil)
	ctx := context.Background()
	steps := []func() error{
		func() error { _, err := c.Users(ctx); return err },
		func() error { _, err := c.GroupMembers(ctx, "sales"); return err },
		func() error { _, _, err := c.SetDND(ctx, 17, true); return err },
		func() error { _, _, err := c.SetDND(ctx, 17, false); return err },
		func() error { return c.CheckWrite(ctx, 18) },
		func() error { s.ExpireTokens(); _, err := c.PhoneConfig(ctx, 1); return err },
		func() error { return c.Logout(ctx) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	seen := map[string]bool{}
	for _, r := range s.Requests() {
		key, errs := d.verify(r)
		seen[key] = true
		for _, e := range errs {
			t.Error(e)
		}
	}
	// The scenario must have exercised every operation teamsface uses.
	for _, k := range []string{
		"GET /login", "POST /login", "DELETE /login", "GET /users", "GET /groups",
		"GET /groups/{groupid}", "GET /users/{userId}/phoneconfig", "PUT /users/{userId}/phoneconfig",
	} {
		if !seen[k] {
			t.Errorf("scenario did not exercise %s (seen %v)", k, seen)
		}
	}
}

// The double's other answers (users/me, users/{id}) match the Swagger file too.
func TestContractDoubleExtras(t *testing.T) {
	d := loadSwagger(t)
	s := newServer(t)
	c := newClient(t, s, nil)
	if _, err := c.Users(context.Background()); err != nil {
		t.Fatal(err)
	}
	var tok string
	for _, r := range s.Requests() {
		if h := r.Header.Get("authToken"); h != "" {
			tok = h
		}
	}
	for _, p := range []string{"/rest/users/me", "/rest/users/17"} {
		req, _ := newRawRequest("GET", s.URL+p, tok)
		res, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	for _, r := range s.Requests() {
		if _, errs := d.verify(r); len(errs) > 0 {
			t.Error(errs)
		}
	}
}

// The checker itself must notice drift, or the contract test proves nothing.
func TestContractCheckerCatchesDrift(t *testing.T) {
	d := loadSwagger(t)
	tests := []struct {
		name string
		r    starfacetest.Request
		want string
	}{
		{"undeclared response property", starfacetest.Request{Method: "GET", Path: "/rest/groups", Status: 200,
			Response: []byte(`[{"id":1,"groupname":"a","name":"a"}]`)}, `property "name" is not declared`},
		{"wrong response type", starfacetest.Request{Method: "GET", Path: "/rest/users/3/phoneconfig", Status: 200,
			Response: []byte(`{"callWaiting":true,"displayNumberId":"1","doNotDisturb":false,"primaryPhoneId":2}`)}, "want an integer"},
		{"missing phone config field", starfacetest.Request{Method: "PUT", Path: "/rest/users/3/phoneconfig", Status: 204,
			Body: []byte(`{"callWaiting":true,"doNotDisturb":false,"primaryPhoneId":2}`)}, `required property "displayNumberId" missing`},
		{"login without secret", starfacetest.Request{Method: "POST", Path: "/rest/login", Status: 400,
			Body: []byte(`{"loginType":"Internal","nonce":"x"}`)}, `declared property "secret" not sent`},
		{"unknown path", starfacetest.Request{Method: "GET", Path: "/rest/presence", Status: 200}, "no such path"},
		{"unknown method", starfacetest.Request{Method: "PATCH", Path: "/rest/users/3/phoneconfig", Status: 200}, "method not declared"},
		{"body on a 204", starfacetest.Request{Method: "PUT", Path: "/rest/users/3/phoneconfig", Status: 204,
			Body:     []byte(`{"callWaiting":true,"displayNumberId":1,"doNotDisturb":false,"primaryPhoneId":2}`),
			Response: []byte(`{}`)}, "declares none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := d.verify(tt.r)
			if !strings.Contains(strings.Join(errs, "\n"), tt.want) {
				t.Errorf("errors %q lack %q", errs, tt.want)
			}
		})
	}
}
