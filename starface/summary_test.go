package starface_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/teamsface/teamsface/starface/starfacetest"
)

// summaryPath is our own summary of the STARFACE API teamsface uses (see the file's header).
// It lives in the repository, so the tests that read it run on every clone.
const summaryPath = "../testdata/starface-api.yaml"

type apiSummary struct {
	Common     map[string]sumCommon  `yaml:"common"`
	Operations []*sumOp              `yaml:"operations"`
	Schemas    map[string]*sumSchema `yaml:"schemas"`
}

type sumCommon struct {
	Headers   map[string]string `yaml:"headers"`
	Responses []sumResponse     `yaml:"responses"`
}

type sumOp struct {
	ID        string               `yaml:"id"`
	Method    string               `yaml:"method"`
	Path      string               `yaml:"path"`
	Auth      string               `yaml:"auth"` // none | token | client
	Source    string               `yaml:"source"`
	Note      string               `yaml:"note"`
	Query     map[string]*sumField `yaml:"query"` // the query parameters the client may send
	Request   *sumRequest          `yaml:"request"`
	Responses []sumResponse        `yaml:"responses"`
}

type sumRequest struct {
	Content string   `yaml:"content"` // json | form
	Body    string   `yaml:"body"`
	OneOf   []string `yaml:"one_of"` // instead of body: the request matches one of these
}

func (r *sumRequest) bodies() []string {
	if r.Body != "" {
		return []string{r.Body}
	}
	return r.OneOf
}

type sumResponse struct {
	Status   int               `yaml:"status"`
	Body     string            `yaml:"body"` // "" = no body
	Source   string            `yaml:"source"`
	When     string            `yaml:"when"`
	Headers  map[string]string `yaml:"headers"`
	Redirect bool              `yaml:"redirect"` // a Location header the client follows
}

type sumSchema struct {
	Swagger string               `yaml:"swagger"` // the Swagger definition's name, when it differs
	Items   string               `yaml:"items"`   // an array of this schema
	Fields  map[string]*sumField `yaml:"fields"`
}

type sumField struct {
	Type     string `yaml:"type"`
	Required bool   `yaml:"required"`
	Nullable bool   `yaml:"nullable"`
	Items    string `yaml:"items"`  // type array: the items' schema
	Schema   string `yaml:"schema"` // type object: its schema
	Const    string `yaml:"const"`  // the only value a request may carry
	Source   string `yaml:"source"` // "": as its schema; else not held to the Swagger file
}

var (
	sumSources = []string{"swagger", "kb", "third-party", "assumed"}
	sumAuths   = []string{"none", "token", "client"}
	sumTypes   = []string{"string", "integer", "boolean", "array", "object"}
	queryTypes = []string{"string", "integer", "boolean"}
)

func loadSummary(t *testing.T) *apiSummary {
	t.Helper()
	b, err := os.ReadFile(summaryPath)
	if err != nil {
		t.Fatalf("the API summary belongs to the repository: %v", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt key in the summary is an error, not an unchecked fact
	var s apiSummary
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%s: %v", summaryPath, err)
	}
	return &s
}

// consistency checks the summary on its own: every reference resolves, every value is one
// the checker understands, no operation is listed twice.
func (s *apiSummary) consistency() []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	schema := func(where, name string) {
		if name != "" && s.Schemas[name] == nil {
			bad("%s: schema %q is not defined", where, name)
		}
	}
	responses := func(where string, rs []sumResponse) {
		for _, r := range rs {
			w := fmt.Sprintf("%s %d", where, r.Status)
			if r.Status < 100 || r.Status > 599 {
				bad("%s: not an HTTP status", w)
			}
			if !slices.Contains(sumSources, r.Source) {
				bad("%s: source %q is not one of %v", w, r.Source, sumSources)
			}
			schema(w, r.Body)
		}
	}
	for name, c := range s.Common {
		if name != "rest" && name != "token" {
			bad("common.%s: only rest and token are known", name)
		}
		responses("common."+name, c.Responses)
	}
	seen := map[string]bool{}
	for _, op := range s.Operations {
		key := op.Method + " " + op.Path
		switch {
		case op.ID == "" || op.Method != strings.ToUpper(op.Method) || !strings.HasPrefix(op.Path, "/"):
			bad("operation %q: needs id, an upper-case method and a path", key)
		case seen[key]:
			bad("%s: listed twice", key)
		}
		seen[key] = true
		if !slices.Contains(sumAuths, op.Auth) {
			bad("%s: auth %q is not one of %v", key, op.Auth, sumAuths)
		}
		if !slices.Contains(sumSources, op.Source) {
			bad("%s: source %q is not one of %v", key, op.Source, sumSources)
		}
		for name, q := range op.Query {
			if !slices.Contains(queryTypes, q.Type) {
				bad("%s: query %s: type %q is not one of %v", key, name, q.Type, queryTypes)
			}
		}
		if op.Request != nil {
			if op.Request.Content != "json" && op.Request.Content != "form" {
				bad("%s: request content %q, want json or form", key, op.Request.Content)
			}
			if len(op.Request.bodies()) == 0 {
				bad("%s: a request without a body schema", key)
			}
			for _, b := range op.Request.bodies() {
				schema(key+" request", b)
			}
		}
		if len(op.Responses) == 0 {
			bad("%s: no responses", key)
		}
		responses(key, op.Responses)
	}
	for name, sc := range s.Schemas {
		if (sc.Items == "") == (sc.Fields == nil) {
			bad("schema %s: give either items or fields", name)
		}
		schema("schema "+name, sc.Items)
		for fname, f := range sc.Fields {
			w := "schema " + name + "." + fname
			if !slices.Contains(sumTypes, f.Type) {
				bad("%s: type %q is not one of %v", w, f.Type, sumTypes)
			}
			if f.Source != "" && !slices.Contains(sumSources, f.Source) {
				bad("%s: source %q is not one of %v", w, f.Source, sumSources)
			}
			if (f.Type == "array") != (f.Items != "") {
				bad("%s: arrays and only arrays name their items", w)
			}
			if !slices.Contains(sumTypes, f.Items) {
				schema(w, f.Items)
			}
			schema(w, f.Schema)
		}
	}
	return errs
}

// find returns the operation for a request: method equal, path matching the template
// segment by segment ({x} matches one non-empty segment), the most literal template winning.
func (s *apiSummary) find(method, path string) *sumOp {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *sumOp
	bestLit := -1
	for _, op := range s.Operations {
		if op.Method != method {
			continue
		}
		ts := strings.Split(strings.Trim(op.Path, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		lit, ok := 0, true
		for i, t := range ts {
			switch {
			case strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") && segs[i] != "":
			case t == segs[i]:
				lit++
			default:
				ok = false
			}
		}
		if ok && lit > bestLit {
			best, bestLit = op, lit
		}
	}
	return best
}

// responsesFor is what an operation may answer: its own statuses and the common ones.
func (s *apiSummary) responsesFor(op *sumOp) []sumResponse {
	rs := append([]sumResponse(nil), op.Responses...)
	if strings.HasPrefix(op.Path, "/rest/") {
		rs = append(rs, s.Common["rest"].Responses...)
	}
	if op.Auth == "token" {
		rs = append(rs, s.Common["token"].Responses...)
	}
	return rs
}

// checkRequest holds one request our client sent to the summary: a known operation, the
// common headers, the operation's authentication, and a body with every required field, no
// undeclared one, and the declared types.
func (s *apiSummary) checkRequest(r starfacetest.Request) []string {
	op := s.find(r.Method, r.Path)
	if op == nil {
		return []string{fmt.Sprintf("the client sent %s %s, which the summary does not list", r.Method, r.Path)}
	}
	key := op.Method + " " + op.Path
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, key+": "+fmt.Sprintf(format, args...)) }
	if strings.HasPrefix(op.Path, "/rest/") {
		for h, v := range s.Common["rest"].Headers {
			if got := r.Header.Get(h); got != v {
				bad("header %s = %q, want %q", h, got, v)
			}
		}
	}
	authToken, authz := r.Header.Get("authToken"), r.Header.Get("Authorization")
	switch op.Auth {
	case "none":
		if authToken != "" || authz != "" {
			bad("sent credentials to an operation that takes none")
		}
	case "token":
		bearer := strings.HasPrefix(authz, "Bearer ") && len(authz) > len("Bearer ")
		if (authToken != "") == bearer {
			bad("want exactly one of the authToken header and Authorization: Bearer")
		}
	case "client":
		if authToken != "" || (authz != "" && !strings.HasPrefix(authz, "Basic ")) {
			bad("the token endpoint takes client authentication (Basic or form), nothing else")
		}
	}
	errs = append(errs, checkQuery(key, op.Query, r.Query)...)
	if op.Request == nil {
		if len(bytes.TrimSpace(r.Body)) > 0 {
			bad("sent a body the operation does not take")
		}
		return errs
	}
	if len(r.Body) == 0 {
		bad("sent no body")
		return errs
	}
	ct := r.Header.Get("Content-Type")
	var v map[string]any
	switch op.Request.Content {
	case "json":
		if !strings.HasPrefix(ct, "application/json") {
			bad("Content-Type %q, want application/json", ct)
		}
		m, err := decodeJSON(r.Body)
		if err != nil {
			bad("body is not JSON")
			return errs
		}
		if v, _ = m.(map[string]any); v == nil {
			bad("body is not a JSON object")
			return errs
		}
	case "form":
		if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			bad("Content-Type %q, want application/x-www-form-urlencoded", ct)
		}
		q, err := url.ParseQuery(string(r.Body))
		if err != nil {
			bad("body is not a form")
			return errs
		}
		v = map[string]any{}
		for k, vs := range q {
			if len(vs) != 1 {
				bad("form field %s sent %d times", k, len(vs))
			}
			v[k] = vs[0]
		}
		if op.Auth == "client" {
			errs = append(errs, checkClientAuth(key, authz, v)...)
		}
	}
	// With one_of, the request must match one schema completely.
	var best []string
	for i, name := range op.Request.bodies() {
		e := s.checkFields(key+" request", v, s.Schemas[name], true)
		if i == 0 || len(e) < len(best) {
			best = e
		}
		if len(e) == 0 {
			break
		}
	}
	return append(errs, best...)
}

// checkQuery holds a request's query to the operation's: only listed parameters, each once,
// of its type, the required ones present.
func checkQuery(key string, listed map[string]*sumField, raw string) []string {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return []string{key + ": query is not valid: " + err.Error()}
	}
	var errs []string
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, v := listed[name], q[name]
		switch {
		case f == nil:
			errs = append(errs, fmt.Sprintf("%s: query parameter %q is not listed", key, name))
		case len(v) != 1:
			errs = append(errs, fmt.Sprintf("%s: query parameter %q sent %d times", key, name, len(v)))
		case f.Type == "integer" && typeMismatch("integer", json.Number(v[0])) != "",
			f.Type == "boolean" && v[0] != "true" && v[0] != "false":
			errs = append(errs, fmt.Sprintf("%s: query parameter %q = %q, want %s", key, name, v[0], f.Type))
		}
	}
	for _, name := range sortedFieldNames(listed) {
		if _, ok := q[name]; !ok && listed[name].Required {
			errs = append(errs, fmt.Sprintf("%s: query parameter %q missing", key, name))
		}
	}
	return errs
}

// checkClientAuth demands one client authentication: HTTP Basic, or client_id and
// client_secret in the form — never both, never neither.
func checkClientAuth(key, authz string, form map[string]any) []string {
	_, formID := form["client_id"]
	_, formSecret := form["client_secret"]
	basic := strings.HasPrefix(authz, "Basic ")
	switch {
	case basic && formSecret:
		return []string{key + ": client secret sent both as Basic and in the form"}
	case basic:
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(authz, "Basic "))
		if err != nil || !bytes.Contains(raw, []byte(":")) {
			return []string{key + ": Basic credentials are not base64 of id:secret"}
		}
	case !formID || !formSecret:
		return []string{key + ": no client authentication (Basic, or client_id and client_secret in the form)"}
	}
	return nil
}

// checkResponse holds one answer of the double to the summary: a status listed for the
// operation, and a body of the listed schema (or none).
func (s *apiSummary) checkResponse(r starfacetest.Request) []string {
	op := s.find(r.Method, r.Path)
	if op == nil {
		return []string{fmt.Sprintf("the double answered %s %s, which the summary does not list", r.Method, r.Path)}
	}
	key := fmt.Sprintf("%s %s → %d", op.Method, op.Path, r.Status)
	i := slices.IndexFunc(s.responsesFor(op), func(x sumResponse) bool { return x.Status == r.Status })
	if i < 0 {
		return []string{key + ": status not listed for the operation"}
	}
	resp := s.responsesFor(op)[i]
	if resp.Redirect {
		return nil // the body of a redirect is a hint for browsers; the client follows Location
	}
	body := bytes.TrimSpace(r.Response)
	if resp.Body == "" {
		if len(body) > 0 {
			return []string{key + ": answered with a body, the summary lists none"}
		}
		return nil
	}
	v, err := decodeJSON(body)
	if err != nil {
		return []string{key + ": answer is not JSON"}
	}
	return s.checkValue(key, v, s.Schemas[resp.Body], false)
}

// checkValue checks a decoded JSON value against a schema (items or fields).
func (s *apiSummary) checkValue(where string, v any, sc *sumSchema, request bool) []string {
	if sc == nil {
		return nil
	}
	if sc.Items != "" {
		a, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an array, got %T", where, v)}
		}
		var errs []string
		for i, e := range a {
			errs = append(errs, s.checkValue(fmt.Sprintf("%s[%d]", where, i), e, s.Schemas[sc.Items], request)...)
		}
		return errs
	}
	m, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: want an object, got %T", where, v)}
	}
	return s.checkFields(where, m, sc, request)
}

// checkFields: required fields present; listed fields of the declared type (null only where
// nullable); in a request, no field the schema does not list (the client sends only what
// the PBX takes).
func (s *apiSummary) checkFields(where string, m map[string]any, sc *sumSchema, request bool) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, where+": "+fmt.Sprintf(format, args...)) }
	for _, name := range sortedFieldNames(sc.Fields) {
		f := sc.Fields[name]
		v, ok := m[name]
		switch {
		case !ok:
			if f.Required {
				bad("required field %q missing", name)
			}
			continue
		case v == nil:
			if !f.Nullable {
				bad("field %q is null", name)
			}
			continue
		}
		if request && f.Const != "" && v != f.Const {
			bad("field %q = %v, want %q", name, v, f.Const)
		}
		if e := typeMismatch(f.Type, v); e != "" {
			bad("field %q: %s", name, e)
			continue
		}
		if slices.Contains(sumTypes, f.Items) {
			for i, e := range v.([]any) {
				if msg := typeMismatch(f.Items, e); msg != "" {
					bad("field %q[%d]: %s", name, i, msg)
				}
			}
		} else if f.Items != "" {
			errs = append(errs, s.checkValue(where+"."+name, v, &sumSchema{Items: f.Items}, request)...)
		}
		if f.Schema != "" {
			errs = append(errs, s.checkValue(where+"."+name, v, s.Schemas[f.Schema], request)...)
		}
	}
	if request {
		for _, k := range sortedKeys(m) {
			if _, ok := sc.Fields[k]; !ok {
				bad("field %q is not listed", k)
			}
		}
	}
	return errs
}

func typeMismatch(typ string, v any) string {
	ok := false
	switch typ {
	case "string":
		_, ok = v.(string)
	case "boolean":
		_, ok = v.(bool)
	case "integer":
		n, isNum := v.(json.Number)
		_, err := strconv.ParseInt(string(n), 10, 64)
		ok = isNum && err == nil
	case "array":
		_, ok = v.([]any)
	case "object":
		_, ok = v.(map[string]any)
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("want %s, got %v", typ, v)
}

func sortedFieldNames(m map[string]*sumField) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// checkRoutes: every route the double serves is an operation of the summary.
func (s *apiSummary) checkRoutes(routes []string) []string {
	var errs []string
	for _, r := range routes {
		method, path, ok := strings.Cut(r, " ")
		if !ok {
			errs = append(errs, fmt.Sprintf("route %q has no method", r))
			continue
		}
		op := s.find(method, path)
		if op == nil || normalizeTemplate(op.Path) != normalizeTemplate(path) {
			errs = append(errs, fmt.Sprintf("the double serves %s, which the summary does not list", r))
		}
	}
	return errs
}

// normalizeTemplate writes every {name} as {}: the double and the summary name parameters
// differently.
func normalizeTemplate(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}
