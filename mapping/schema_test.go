package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// mapping.schema.json is what editors check mapping.yaml with while it is typed; the loader is
// what teamsface runs. These tests keep the two saying the same thing: the same keys (taken from
// the Config struct the decoder walks), types, names, defaults and descriptions, and the same
// verdict on real and broken files from a real JSON Schema validator.

// schemaDoc is the embedded schema as plain JSON data.
func schemaDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatalf("mapping.schema.json is not JSON: %v", err)
	}
	return doc
}

// schemaDrafts compiles the schema as the draft 2020-12 it declares and as draft-07, the newest
// draft VS Code's YAML extension (yaml-language-server) validates with. Both must give every
// file the same verdict.
func schemaDrafts(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	out := map[string]*jsonschema.Schema{}
	for name, draft := range map[string]*jsonschema.Draft{"draft 2020-12": nil, "draft-07": jsonschema.Draft7} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		if draft != nil {
			delete(doc.(map[string]any), "$schema")
			c.DefaultDraft(draft)
		}
		if err := c.AddResource("mapping.schema.json", doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sch, err := c.Compile("mapping.schema.json")
		if err != nil {
			t.Fatalf("compile mapping.schema.json as %s: %v", name, err)
		}
		out[name] = sch
	}
	return out
}

// validate checks a YAML file against the schema the way an editor does.
func validate(sch *jsonschema.Schema, data []byte) error {
	v, err := editorValue(data)
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// editorValue is a YAML document as an editor hands it to its validator: scalars typed the
// YAML 1.2 way (yaml-language-server's default: 0001 is the number 1, on is a string), keys as
// written.
func editorValue(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	return nodeValue(&doc)
}

func nodeValue(n *yaml.Node) (any, error) {
	n = resolve(n)
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0])
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := nodeValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[resolve(n.Content[i]).Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, it := range n.Content {
			v, err := nodeValue(it)
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	case yaml.ScalarNode:
		if n.Tag == "!!timestamp" { // JSON has no dates; editors see the text
			return n.Value, nil
		}
		var v any
		err := n.Decode(&v)
		return v, err
	}
	return nil, nil // an empty file
}

// deref follows a node's "#/$defs/NAME" reference, the only kind the schema uses.
func deref(doc, node map[string]any) map[string]any {
	if ref, ok := node["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/$defs/")
		def, _ := doc["$defs"].(map[string]any)[name].(map[string]any)
		if !found || def == nil {
			panic("mapping.schema.json: unresolvable $ref " + ref)
		}
		return def
	}
	return node
}

// schemaKeys lists the keys the schema describes, named as walkKeys names the loader's:
// dotted, with [] for the items of a list of mappings.
func schemaKeys(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	var walk func(node map[string]any, prefix string)
	walk = func(node map[string]any, prefix string) {
		props, _ := deref(doc, node)["properties"].(map[string]any)
		for name, p := range props {
			key := join(prefix, name)
			prop := p.(map[string]any)
			out[key] = prop
			d := deref(doc, prop)
			if _, ok := d["properties"]; ok {
				walk(d, key)
			}
			if items, ok := d["items"].(map[string]any); ok {
				if _, ok := deref(doc, items)["properties"]; ok {
					walk(items, key+"[]")
				}
			}
		}
	}
	walk(doc, "")
	return out
}

// schemaTypes is every JSON type a node admits: its type keyword, the types of its enum and const
// values, and those of its anyOf branches.
func schemaTypes(doc, node map[string]any) map[string]bool {
	out := map[string]bool{}
	var add func(n map[string]any)
	add = func(n map[string]any) {
		n = deref(doc, n)
		switch ty := n["type"].(type) {
		case string:
			out[ty] = true
		case []any:
			for _, x := range ty {
				out[x.(string)] = true
			}
		}
		vals, _ := n["enum"].([]any)
		if c, ok := n["const"]; ok {
			vals = append(vals, c)
		}
		for _, v := range vals {
			out[jsonType(v)] = true
		}
		branches, _ := n["anyOf"].([]any)
		for _, b := range branches {
			add(b.(map[string]any))
		}
	}
	add(node)
	return out
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == math.Trunc(v) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	}
	return "object"
}

// When the decoder gains a key, this fails until the schema has it too (and the other way round).
func TestSchemaKeysAreTheLoaders(t *testing.T) {
	doc := schemaDoc(t)
	inSchema := schemaKeys(doc)
	loader := map[string]reflect.Type{}
	walkKeys(reflect.TypeFor[Config](), "", func(k string, typ reflect.Type) { loader[k] = typ })
	meaning := map[string]string{}
	for _, k := range Keys() {
		meaning[k.Key] = k.Meaning
	}
	if len(loader) < 50 {
		t.Fatalf("walkKeys found %d keys; the walk is broken", len(loader))
	}
	for _, key := range slices.Sorted(maps.Keys(loader)) {
		node, ok := inSchema[key]
		if !ok {
			if meaning[key] == "" {
				t.Errorf("%s: the loader accepts it but mapping.schema.json does not list it; document it in keys.go, then add it there", key)
			} else {
				t.Errorf("%s: the loader accepts it but mapping.schema.json does not list it; add it there with the description %q", key, meaning[key])
			}
			continue
		}
		checkSchemaType(t, doc, key, loader[key], node)
		if got := node["description"]; got != meaning[key] {
			t.Errorf("%s: the schema's description is %q; make it help config's %q", key, got, meaning[key])
		}
	}
	for _, key := range slices.Sorted(maps.Keys(inSchema)) {
		if _, ok := loader[key]; !ok {
			t.Errorf("%s: mapping.schema.json lists it but the loader refuses it as an unknown key", key)
		}
	}
	if doc["additionalProperties"] != false {
		t.Errorf("the top level: the loader refuses unknown keys; the schema needs additionalProperties: false")
	}
}

// checkSchemaType says where the schema's types for key differ from what the decoder reads into
// typ (decode.go's value): the schema may ask for less, never for a type the loader refuses.
func checkSchemaType(t *testing.T, doc map[string]any, key string, typ reflect.Type, node map[string]any) {
	t.Helper()
	d := deref(doc, node)
	var must string
	var may []string
	optional := typ.Kind() == reflect.Pointer // nil when left out or null
	if optional {
		typ = typ.Elem()
	}
	switch {
	case typ == durationType:
		if node["$ref"] != "#/$defs/duration" {
			t.Errorf(`%s: a duration; give it "$ref": "#/$defs/duration"`, key)
		}
		return
	case typ.Kind() == reflect.Struct:
		must, may = "object", []string{"null"} // `microsoft:` with nothing below is an empty mapping
		if d["additionalProperties"] != false {
			t.Errorf("%s: the loader refuses unknown keys here; the schema needs additionalProperties: false", key)
		}
	case typ.Kind() == reflect.Slice:
		must, may = "array", []string{"null"}
		switch typ.Elem().Kind() {
		case reflect.String:
			may = append(may, "string") // `activity: InACall` is a list of one
		case reflect.Struct:
			items, _ := d["items"].(map[string]any)
			if items == nil || deref(doc, items)["additionalProperties"] != false {
				t.Errorf("%s[]: the loader refuses unknown keys here; the items need additionalProperties: false", key)
			}
		}
	case typ.Kind() == reflect.Map:
		must, may = "object", []string{"null"}
		if _, ok := d["additionalProperties"].(map[string]any); !ok {
			t.Errorf("%s: a map of any key; additionalProperties must say what its values are", key)
		}
	case typ.Kind() == reflect.String:
		must, may = "string", []string{"null", "boolean", "integer", "number"} // the text of any scalar
	case typ.Kind() == reflect.Bool:
		must = "boolean"
	case typ.Kind() == reflect.Int:
		must = "integer"
	default:
		t.Fatalf("%s: no rule for %v", key, typ)
	}
	if optional {
		may = append(may, "null")
	}
	types := schemaTypes(doc, node)
	if !types[must] {
		t.Errorf("%s: the loader reads %s; the schema allows only %v", key, must, slices.Sorted(maps.Keys(types)))
	}
	for ty := range types {
		if ty != must && !slices.Contains(may, ty) {
			t.Errorf("%s: the schema allows %s, which the loader refuses", key, ty)
		}
	}
}

// pointer follows a JSON pointer (without escapes) into doc.
func pointer(doc map[string]any, p string) any {
	var v any = doc
	for _, part := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		m, _ := v.(map[string]any)
		v = m[part]
	}
	return v
}

func anys[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// The names the schema offers are the names the loader accepts, in the same order.
func TestSchemaNamesAreTheLoaders(t *testing.T) {
	doc := schemaDoc(t)
	var pairs []any
	var avail, act []string
	for _, p := range SetPresencePairs {
		pairs = append(pairs, map[string]any{"availability": p.Availability, "activity": p.Activity})
		if !slices.Contains(avail, p.Availability) {
			avail = append(avail, p.Availability)
		}
		if !slices.Contains(act, p.Activity) {
			act = append(act, p.Activity)
		}
	}
	for _, tc := range []struct {
		at   string
		want []any
	}{
		{"/$defs/availability/enum", anys(Availabilities)},
		{"/$defs/activity/enum", anys(Activities)},
		{"/properties/microsoft/properties/cloud/enum", anys(cloudNames)},
		{"/properties/microsoft/properties/auth/enum", anys(authNames)},
		{"/properties/starface/properties/auth/enum", anys(sfAuthNames)},
		{"/$defs/matchField/enum", anys(matchNames)},
		// The decoder reads a YAML boolean (`dnd: true`, or on from a YAML 1.1 tool) as on/off.
		{"/$defs/dnd/enum", append(anys(dndNames), true, false)},
		{"/$defs/setPresencePair/enum", pairs},
		{"/$defs/setPresenceAvailability/enum", anys(avail)},
		{"/$defs/setPresenceActivity/enum", anys(act)},
	} {
		if got := pointer(doc, tc.at); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s is %v; the loader's are %v", tc.at, got, tc.want)
		}
	}
}

// withKey returns base (YAML) as JSON with key (dotted) set to v.
func withKey(t *testing.T, base, key string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(key, ".")
	at := m
	for _, p := range parts[:len(parts)-1] {
		next, ok := at[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			at[p] = next
		}
		at = next
	}
	at[parts[len(parts)-1]] = v
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// positionless drops what depends on where things are in the file.
func positionless(c *Config) *Config {
	c.File = ""
	for i := range c.TeamsToStarface.Rules {
		c.TeamsToStarface.Rules[i].Line = 0
	}
	for i := range c.Tests {
		c.Tests[i].Line = 0
	}
	return c
}

// Every default the schema offers (editors complete with it) is what the loader fills in: the
// file with the default written out loads as the file without the key. help config documents a
// default exactly where the schema has one.
func TestSchemaDefaultsAreTheLoaders(t *testing.T) {
	doc := schemaDoc(t)
	sch := schemaDrafts(t)["draft 2020-12"]
	keys := schemaKeys(doc)
	documented := map[string]string{}
	for _, k := range Keys() {
		documented[k.Key] = k.Default
	}
	want := positionless(mustParse(t, minimalYAML))
	tested := 0
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		def, has := keys[key]["default"]
		if parentDef, ok := keys[parentPath(key)]["default"]; ok {
			// on_dnd.availability: a pair is given whole, so the pair's default holds its parts'.
			part, inPart := parentDef.(map[string]any)[key[len(parentPath(key))+1:]]
			if has && !reflect.DeepEqual(def, part) {
				t.Errorf("%s: default %v, but its mapping's default says %v", key, def, part)
			}
			if text := documented[key]; text != "" && (!inPart || text != part) {
				t.Errorf("%s: help config's default is %q, its mapping's default in the schema says %v", key, text, part)
			}
			continue
		}
		if has != (documented[key] != "") {
			t.Errorf("%s: help config's default is %q, the schema's %v; give both a default or neither", key, documented[key], def)
		}
		if !has {
			continue
		}
		tested++
		data := withKey(t, minimalYAML, key, def)
		if err := sch.Validate(mustEditorValue(t, data)); err != nil {
			t.Errorf("%s: the schema refuses its own default %v: %v", key, def, err)
		}
		c, err := Parse(data, "t.yaml")
		if err != nil {
			t.Errorf("%s: the loader refuses the schema's default %v: %v", key, def, err)
			continue
		}
		if got := positionless(c); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: written out, the schema's default %v loads as\n%+v\nleft out, the key loads as\n%+v", key, def, got, want)
		}
	}
	if tested < 15 {
		t.Errorf("only %d defaults compared; the schema lost its defaults", tested)
	}
}

func mustEditorValue(t *testing.T, data []byte) any {
	t.Helper()
	v, err := editorValue(data)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const guid = "11111111-2222-3333-4444-555555555555"

// section writes a section with its required keys, unless lines set them.
func section(name string, required []string, lines ...string) string {
	var b strings.Builder
	b.WriteString(name + ":\n")
	for _, r := range required {
		k, _, _ := strings.Cut(r, ":")
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, k+":") }) {
			b.WriteString("  " + r + "\n")
		}
	}
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

func ms(lines ...string) string {
	return section("microsoft", []string{"tenant: contoso.onmicrosoft.com", "client_id: " + guid}, lines...)
}

func sf(lines ...string) string {
	return section("starface", []string{"url: https://pbx.example.com", `login: "0001"`}, lines...)
}

// The schema and the loader give a file the same verdict. Where they cannot, the row says why:
// the loader reads every scalar by its text and checks ranges of durations, which a schema
// cannot; the schema asks for the types the documentation writes.
func TestSchemaAgreesWithTheLoader(t *testing.T) {
	small := ms() + sf()
	rules := func(r string) string { return small + "teams_to_starface:\n  rules:\n" + r }
	toTeams := func(lines ...string) string { return section("starface_to_teams", nil, lines...) }
	tests := func(entry string) string { return small + "tests:\n  - " + entry + "\n" }
	const valid, invalid = true, false
	drafts := schemaDrafts(t)
	for _, tc := range []struct {
		name           string
		yaml           string
		loader, schema bool
		why            string // when they differ
	}{
		{"the smallest file", small, valid, valid, ""},
		{"an empty file", "", invalid, invalid, ""},
		{"sections with nothing below", small + "users:\nteams_to_starface:\nstarface_to_teams:\ntests:\n", valid, valid, ""},
		{"lists and maps with nothing below", small + "users:\n  overrides:\n  exclude:\n", valid, valid, ""},
		{"an unknown key at the top", small + "colour: blue\n", invalid, invalid, ""},
		{"a misspelt key", ms() + sf("pasword_file: /etc/teamsface/pw"), invalid, invalid, ""},
		{"a misspelt key in a rule", rules("    - {when: {}, dnd: off, dns: on}\n"), invalid, invalid, ""},

		{"cloud usgov", ms("cloud: usgov") + sf(), valid, valid, ""},
		{"cloud germany", ms("cloud: germany") + sf(), invalid, invalid, ""},
		{"cloud in capitals", ms("cloud: Global") + sf(), invalid, invalid, ""},
		{"an unknown auth", ms("auth: client_secret") + sf(), invalid, invalid, ""},
		{"a tenant id", ms("tenant: "+guid) + sf(), valid, valid, ""},
		{"no tenant", ms("tenant:") + sf(), invalid, invalid, ""},
		{"a tenant that is neither", ms("tenant: contoso") + sf(), invalid, invalid, ""},
		{"tenant consumers", ms("tenant: consumers", "auth: device-code") + sf(), invalid, invalid, ""},
		{"tenant common with a client secret", ms("tenant: common") + sf(), invalid, invalid, ""},
		{"tenant common with device code", ms("tenant: common", "auth: device-code") + sf(), valid, valid, ""},
		{"tenant Organizations with device code", ms("tenant: Organizations", "auth: device-code") + sf(), valid, valid, ""},
		{"a client id that is no GUID", ms("client_id: my-app") + sf(), invalid, invalid, ""},
		{"a group that is no GUID", ms("group: sales") + sf(), invalid, invalid, ""},
		{"an empty group", ms(`group: ""`) + sf(), valid, valid, ""},
		{"secret variable and file", ms("client_secret_env: S", "client_secret_file: /s") + sf(), invalid, invalid, ""},
		{"secret variable and an empty file", ms("client_secret_env: S", `client_secret_file: ""`) + sf(), valid, valid, ""},
		{"a certificate", ms("auth: client-certificate", "certificate_file: /etc/teamsface/app.pem") + sf(), valid, valid, ""},
		{"a certificate sign-in without a file", ms("auth: client-certificate") + sf(), invalid, invalid, ""},
		{"Graph concurrency 16", ms("concurrency: 16") + sf(), valid, valid, ""},
		{"Graph concurrency 17", ms("concurrency: 17") + sf(), invalid, invalid, ""},
		{"Graph concurrency 0", ms("concurrency: 0") + sf(), invalid, invalid, ""},
		{"a quoted number", ms(`concurrency: "8"`) + sf(), valid, invalid, "the loader reads a scalar's text; the schema asks for a number"},
		{"a sign-in host with a port", ms("authority_host: https://127.0.0.1:8443/") + sf(), valid, valid, ""},
		{"a sign-in host over http", ms("authority_host: http://login.microsoftonline.us") + sf(), invalid, invalid, ""},
		{"a Graph root with /v1.0", ms("graph_endpoint: https://graph.microsoft.us/v1.0") + sf(), invalid, invalid, ""},

		{"a PBX URL with /rest", ms() + sf("url: https://pbx.example.com/rest/"), valid, valid, ""},
		{"a PBX URL over ftp", ms() + sf("url: ftp://pbx.example.com"), invalid, invalid, ""},
		{"a PBX URL without scheme", ms() + sf("url: pbx.example.com"), invalid, invalid, ""},
		{"no login", ms() + sf("login:"), invalid, invalid, ""},
		{"an unquoted login", ms() + sf("login: 0001"), valid, invalid, "the loader reads the text 0001; a YAML 1.2 editor reads the number 1, and the documentation asks for quotes"},
		{"password variable and file", ms() + sf("password_env: P", "password_file: /p"), invalid, invalid, ""},
		{"a fingerprint with colons", ms() + sf("fingerprint: "+strings.Repeat("AB:", 31)+"AB"), valid, valid, ""},
		{"a fingerprint one digit short", ms() + sf("fingerprint: "+strings.Repeat("a", 63)), invalid, invalid, ""},
		{"PBX concurrency 65", ms() + sf("concurrency: 65"), invalid, invalid, ""},
		{"auth OAuth in capitals", ms() + sf("auth: OAuth"), invalid, invalid, ""},
		{"an empty client id", ms() + sf(`client_id: " "`), invalid, invalid, ""},
		{"an empty scope", ms() + sf(`scope: ""`), invalid, invalid, ""},
		{"a scope with a newline", ms() + sf(`scope: "pbx-login\nx"`), invalid, invalid, ""},
		{"two scopes", ms() + sf("scope: pbx-login openid"), valid, valid, ""},
		{"OneHub with OAuth", ms() + sf("onehub: true", "auth: oauth", "onehub_url: grpcs://pbx.example.com:443"), valid, valid, ""},
		{"OneHub at a port of its own", ms() + sf("onehub: true", "onehub_url: https://127.0.0.1:9092"), valid, valid, ""},
		{"OneHub with the classic login", ms() + sf("onehub: true", "auth: classic"), invalid, invalid, ""},
		{"OneHub over http", ms() + sf("onehub: true", "onehub_url: http://pbx.example.com:9092"), invalid, invalid, ""},
		{"insecure_skip_verify yes", ms() + sf("insecure_skip_verify: yes"), valid, invalid, "YAML 1.1's yes: the loader reads true, a YAML 1.2 editor a string; the schema asks for true"},

		{"match one field", small + "users:\n  match: mail\n", valid, valid, ""},
		{"match nothing", small + "users:\n  match: []\n", invalid, invalid, ""},
		{"match a field twice", small + "users:\n  match: [mail, mail]\n", invalid, invalid, ""},
		{"match an unknown field", small + "users:\n  match: [upn]\n", invalid, invalid, ""},
		{"an override", small + "users:\n  overrides: {\"0003\": alice@contoso.com}\n", valid, valid, ""},
		{"an empty override", small + "users:\n  overrides: {\"0003\": \"\"}\n", invalid, invalid, ""},
		{"an exclusion", small + "users:\n  exclude: [\"0001\"]\n", valid, valid, ""},
		{"an empty exclusion", small + "users:\n  exclude: [\" \"]\n", invalid, invalid, ""},
		{"refresh 0", small + "users:\n  refresh: 0\n", valid, valid, ""},
		{"refresh 1h30m", small + "users:\n  refresh: 1h30m\n", valid, valid, ""},
		{"refresh without unit", small + "users:\n  refresh: 10\n", invalid, invalid, ""},
		{"a negative refresh", small + "users:\n  refresh: -5m\n", invalid, invalid, ""},
		{"max_drop 25 users", small + "users:\n  max_drop: 25\n", valid, valid, ""},
		{"max_drop 12.5%", small + "users:\n  max_drop: 12.5%\n", valid, valid, ""},
		{"max_drop 150%", small + "users:\n  max_drop: 150%\n", invalid, invalid, ""},
		{"max_drop in words", small + "users:\n  max_drop: ten\n", invalid, invalid, ""},

		{"a rule for everything", rules("    - {when: {}, dnd: keep}\n"), valid, valid, ""},
		{"a rule with an empty when", rules("    - when:\n      dnd: keep\n"), valid, valid, ""},
		{"a rule without when", rules("    - dnd: on\n"), invalid, invalid, ""},
		{"a rule without dnd", rules("    - when: {}\n"), invalid, invalid, ""},
		{"dnd maybe", rules("    - {when: {}, dnd: maybe}\n"), invalid, invalid, ""},
		{"dnd true", rules("    - {when: {}, dnd: true}\n"), valid, valid, ""},
		{"one activity, not a list", rules("    - {when: {activity: InACall}, dnd: on}\n"), valid, valid, ""},
		{"an activity in lower case", rules("    - {when: {activity: [inacall]}, dnd: on}\n"), invalid, invalid, ""},
		{"an empty availability list", rules("    - {when: {availability: []}, dnd: on}\n"), invalid, invalid, ""},
		{"no rules", small + "teams_to_starface:\n  rules: []\n", invalid, invalid, ""},

		{"STARFACE → Teams", small + toTeams("enabled: true", "on_dnd: {availability: Busy, activity: InACall}"), valid, valid, ""},
		{"a pair setPresence refuses", small + toTeams("on_dnd: {availability: Busy, activity: Busy}"), invalid, invalid, ""},
		{"half a pair", small + toTeams("on_dnd: {availability: DoNotDisturb}"), invalid, invalid, ""},
		{"STARFACE → Teams with device code", ms("auth: device-code") + sf() + toTeams("enabled: true"), invalid, invalid, ""},
		{"on_call with OneHub", ms() + sf("onehub: true") + toTeams("on_call: {availability: Busy, activity: InACall}"), valid, valid, ""},
		{"on_call without OneHub", small + toTeams("on_call: {availability: Busy, activity: InACall}"), invalid, invalid, ""},
		{"on_call off", small + toTeams("on_call: {}"), valid, valid, ""},
		{"read_rate 0", small + toTeams("read_rate: 0"), invalid, invalid, ""},
		{"an expiration too short", small + toTeams("expiration: 1m"), invalid, valid, "a pattern cannot compare durations: the loader checks 5m to 4h"},
		{"a poll too short", small + toTeams("poll: 5s"), invalid, valid, "a pattern cannot compare durations: the loader checks 10s or more"},
		{"a duration in words", small + toTeams("poll: a minute"), invalid, invalid, ""},

		{"a test", tests("{availability: Away, activity: Away, expect: {dnd: off}}"), valid, valid, ""},
		{"a test without activity", tests("{availability: Away, activity: \"\", expect: {dnd: off}}"), valid, valid, ""},
		{"a test without expect", tests("{availability: Away}"), invalid, invalid, ""},
		{"a test of an unknown availability", tests("{availability: Gone, expect: {dnd: off}}"), invalid, invalid, ""},
		{"a test with an unknown key", tests("{availability: Away, expect: {dnd: off, session: on}}"), invalid, invalid, ""},
	} {
		loaderErr := errOf(Parse([]byte(tc.yaml), "t.yaml"))
		if (loaderErr == nil) != tc.loader {
			t.Errorf("%s: the loader says %v, want valid=%v\n%s", tc.name, loaderErr, tc.loader, tc.yaml)
		}
		if tc.loader != tc.schema && tc.why == "" {
			t.Errorf("%s: the loader and the schema differ; say why", tc.name)
		}
		for draft, sch := range drafts {
			if err := validate(sch, []byte(tc.yaml)); (err == nil) != tc.schema {
				t.Errorf("%s: the schema (%s) says %v, want valid=%v\n%s", tc.name, draft, err, tc.schema, tc.yaml)
			}
		}
	}
}

func errOf(_ *Config, err error) error { return err }

// The files teamsface ships and its scripts use pass the schema wherever the loader accepts them.
func TestSchemaAcceptsTheShippedConfigurations(t *testing.T) {
	files := map[string][]byte{}
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	files["mapping.example.yaml"] = read("mapping.example.yaml")
	dec := yaml.NewDecoder(bytes.NewReader(read("deploy/kubernetes/teamsface.yaml")))
	for {
		var d struct {
			Kind string
			Data map[string]string
		}
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m := d.Data["mapping.yaml"]; d.Kind == "ConfigMap" && m != "" {
			files["deploy/kubernetes/teamsface.yaml's ConfigMap"] = []byte(m)
		}
	}
	scripts, err := filepath.Glob(filepath.Join("..", "testdata", "script", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	whole := regexp.MustCompile(`(?m)^microsoft:`) // not a fragment the script adds to its own
	for _, s := range scripts {
		ar, err := txtar.ParseFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if strings.HasSuffix(f.Name, ".yaml") && whole.Match(f.Data) {
				files[filepath.Base(s)+": "+f.Name] = f.Data
			}
		}
	}
	checked := 0
	drafts := schemaDrafts(t)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if _, err := Parse(files[name], name); err != nil {
			continue // refused on purpose; TestSchemaAgreesWithTheLoader covers refusals
		}
		checked++
		for draft, sch := range drafts {
			if err := validate(sch, files[name]); err != nil {
				t.Errorf("%s: the loader accepts it, the schema (%s) refuses it: %v", name, draft, err)
			}
		}
	}
	if checked < 4 {
		t.Errorf("only %d configuration files checked; the search for them is broken", checked)
	}
}

// The example names the schema for editors (yaml-language-server's modeline), at the address the
// schema calls its own: this repository's copy on main.
func TestExampleNamesTheSchema(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "mapping.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := schemaDoc(t)["$id"].(string)
	first, _, _ := strings.Cut(string(example), "\n")
	if want := "# yaml-language-server: $schema=" + id; first != want {
		t.Errorf("mapping.example.yaml's first line is %q; want %q", first, want)
	}
	rel, ok := strings.CutPrefix(id, "https://raw.githubusercontent.com/teamsface/teamsface/main/")
	if !ok {
		t.Fatalf("$id %q is not a file of the repository on main", id)
	}
	onDisk, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(rel)))
	if err != nil || !bytes.Equal(onDisk, Schema()) {
		t.Errorf("$id names %s, which is not the embedded schema (%v)", rel, err)
	}
}

// Editors still validate with draft-07 (yaml-language-server), which knows none of 2019-09's
// keywords and ignores every keyword beside a $ref. The schema keeps to keywords both drafts read
// alike, so the editor and TestSchemaAgreesWithTheLoader see the same schema.
func TestSchemaKeepsToDraft07Keywords(t *testing.T) {
	known := map[string]bool{
		"$schema": true, "$id": true, "$ref": true, "$defs": true, "$comment": true,
		"title": true, "description": true, "default": true, "examples": true,
		"type": true, "enum": true, "const": true, "pattern": true, "minLength": true, "minimum": true, "maximum": true,
		"properties": true, "additionalProperties": true, "required": true, "propertyNames": true, "minProperties": true,
		"items": true, "minItems": true, "uniqueItems": true,
		"anyOf": true, "allOf": true, "not": true, "if": true, "then": true, "else": true,
	}
	annotation := map[string]bool{"$ref": true, "$comment": true, "title": true, "description": true, "default": true, "examples": true}
	var walk func(node map[string]any, at string)
	walk = func(node map[string]any, at string) {
		_, hasRef := node["$ref"]
		for kw, v := range node {
			if !known[kw] {
				t.Errorf("%s: keyword %s is not one draft-07 and 2020-12 read alike", at, kw)
			}
			if hasRef && !annotation[kw] {
				t.Errorf("%s: %s beside $ref is ignored by draft-07; put the $ref in an allOf", at, kw)
			}
			switch kw {
			case "properties", "$defs":
				for name, sub := range v.(map[string]any) {
					walk(sub.(map[string]any), at+"/"+kw+"/"+name)
				}
			case "items", "additionalProperties", "propertyNames", "not", "if", "then", "else":
				if sub, ok := v.(map[string]any); ok {
					walk(sub, at+"/"+kw)
				}
			case "anyOf", "allOf":
				for _, sub := range v.([]any) {
					walk(sub.(map[string]any), at+"/"+kw)
				}
			}
		}
	}
	walk(schemaDoc(t), "#")
}
