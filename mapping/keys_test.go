package mapping

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Keys must list exactly the keys the loader accepts, which are the Config
// struct's yaml tags.
func TestKeysMatchStruct(t *testing.T) {
	var fromStruct []string
	walkKeys(reflect.TypeFor[Config](), "", func(k string, _ reflect.Type) { fromStruct = append(fromStruct, k) })
	var documented []string
	for _, k := range Keys() {
		if slices.Contains(documented, k.Key) {
			t.Errorf("%s documented twice", k.Key)
		}
		documented = append(documented, k.Key)
		if k.Type == "" || k.Meaning == "" {
			t.Errorf("%s: type %q meaning %q", k.Key, k.Type, k.Meaning)
		}
	}
	for _, k := range fromStruct {
		if !slices.Contains(documented, k) {
			t.Errorf("key %s is accepted but not documented", k)
		}
	}
	for _, k := range documented {
		if !slices.Contains(fromStruct, k) {
			t.Errorf("key %s is documented but not accepted", k)
		}
	}
	// Spot-check the shapes the help text promises.
	for _, k := range []string{"microsoft.cloud", "teams_to_starface.rules[].when.availability", "tests[].expect.dnd", "users.overrides"} {
		if !slices.Contains(documented, k) {
			t.Errorf("%s missing", k)
		}
	}
}

// Each documented default is what the loader fills in.
func TestKeysDefaults(t *testing.T) {
	c := mustParse(t, minimalYAML)
	for _, k := range Keys() {
		if k.Default == "" {
			continue
		}
		v, ok := valueAt(reflect.ValueOf(c).Elem(), k.Key)
		if !ok {
			continue // list items: nothing to compare
		}
		var got string
		switch x := v.Interface().(type) {
		case time.Duration:
			d, err := time.ParseDuration(k.Default)
			if err != nil || d != x {
				t.Errorf("%s: documented %q, loaded %v", k.Key, k.Default, x)
			}
			continue
		case []string:
			got = "[" + strings.Join(x, ", ") + "]"
		case Pair:
			got = fmt.Sprintf("{availability: %s, activity: %s}", x.Availability, x.Activity)
			if x == (Pair{}) {
				got = "{}"
			}
		case []Rule:
			if !reflect.DeepEqual(x, DefaultRules()) {
				t.Errorf("%s: not the default rules", k.Key)
			}
			continue
		default:
			got = fmt.Sprint(x)
		}
		if got != k.Default {
			t.Errorf("%s: documented default %q, loaded %q", k.Key, k.Default, got)
		}
	}
}

func valueAt(v reflect.Value, key string) (reflect.Value, bool) {
	for _, part := range strings.Split(key, ".") {
		if strings.HasSuffix(part, "[]") {
			return reflect.Value{}, false
		}
		found := false
		for i := range v.NumField() {
			if v.Type().Field(i).Tag.Get("yaml") == part {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return reflect.Value{}, false
		}
	}
	return v, true
}
