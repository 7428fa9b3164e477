package cmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface/onehub/onehubtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

// `teamsface help config --schema` prints the schema editors use, byte for byte, and nothing else.
func TestHelpConfigSchema(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"help", "config", "--schema"},
		{"help", "--schema", "config"},
		{"help", "config", "--schema", "-o", "json"}, // the schema is JSON already
	} {
		code, out, errs := runCLI(t, nil, args...)
		if code != ExitOK || errs != "" {
			t.Errorf("%v: exit %d, stderr %q; want 0 and nothing", args, code, errs)
		}
		if out != string(mapping.Schema()) {
			t.Errorf("%v: stdout is not mapping.Schema():\n%.300s", args, out)
		}
	}
	_, out, _ := runCLI(t, nil, "help", "config", "--schema")
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("help config --schema: not a draft 2020-12 JSON Schema (%v): %.200s", err, out)
	}
}

// --schema belongs to help config; elsewhere it is a mistake, not something to ignore.
func TestHelpSchemaOnlyWithConfig(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"help", "--schema"},
		{"help", "exit-codes", "--schema"},
		{"help", "sync", "once", "--schema"},
	} {
		code, out, errs := runCLI(t, nil, args...)
		if code != ExitUsage || out != "" || !strings.Contains(errs, "--schema goes with help config only") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d and a usage error", args, code, out, errs, ExitUsage)
		}
	}
}

// help config -o json prints what the text lists, one object per key in the same order, with
// the fields DESIGN.md's JSON convention asks for (stable snake_case names).
func TestHelpConfigJSON(t *testing.T) {
	t.Parallel()
	var want []configKeyJSON
	for _, k := range mapping.Keys() {
		want = append(want, configKeyJSON{Key: k.Key, Type: k.Type, Default: k.Default, Meaning: k.Meaning})
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"-o json", nil, []string{"help", "config", "-o", "json"}},
		{"TEAMSFACE_OUTPUT=json", map[string]string{"TEAMSFACE_OUTPUT": "json"}, []string{"help", "config"}},
	} {
		code, out, errs := runCLI(t, tc.env, tc.args...)
		if code != ExitOK || errs != "" {
			t.Fatalf("%s: exit %d, stderr %q", tc.name, code, errs)
		}
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		var got []configKeyJSON
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("%s: not a JSON list of keys: %v\n%.300s", tc.name, err, out)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the keys differ from mapping.Keys():\n got %+v\nwant %+v", tc.name, got, want)
		}
		if !strings.Contains(out, `"default": "10m"`) || !strings.Contains(out, `"key": "users.refresh"`) {
			t.Errorf("%s: field names are not key, type, default, meaning:\n%.300s", tc.name, out)
		}
	}
	// -o table (the default) stays the text.
	if _, out, _ := runCLI(t, nil, "help", "config", "-o", "table"); !strings.HasPrefix(out, "Every key") {
		t.Errorf("help config -o table: %.100s", out)
	}
}

// The demo's configuration files, with and without OneHub, pass the schema an editor would use.
func TestDemoConfigPassesTheSchema(t *testing.T) {
	t.Parallel()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(mapping.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mapping.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mapping.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	ss := starfacetest.NewServer()
	defer ss.Close()
	oh := onehubtest.NewServer(ss, onehubtest.Options{})
	defer oh.Close()
	for _, tc := range []struct {
		name   string
		mirror bool
		oh     *onehubtest.Server
	}{
		{"demo", true, oh},
		{"demo --serve", false, nil},
	} {
		dir := t.TempDir()
		if _, err := demoConfig(dir, "https://127.0.0.1:8443", "https://127.0.0.1:8444", tc.mirror, tc.oh); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "mapping.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		// Its keys are plain strings, so yaml.v3's own typing is what an editor sees.
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: the schema refuses the demo's configuration: %v\n%s", tc.name, err, data)
		}
	}
}
