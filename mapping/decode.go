package mapping

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The file is decoded from yaml.v3's node tree by hand, driven by the Config
// struct's yaml tags, instead of with Decoder.KnownFields(true): that gives
// the same strictness (an unknown key is an error) but lets every message
// carry line and column, name the valid keys at that level, report all
// problems at once, and keep positions for the checks that run after
// decoding. It also reads scalars by their text, so `login: 0001` stays
// "0001" and `dnd: on` is the string on whatever a YAML 1.1 tool thinks.

type position struct{ line, col int }

type decoder struct {
	file string
	errs ConfigErrors
	// pos maps a dotted key path to where its value starts; a path is in it
	// exactly when the file has that key.
	pos map[string]position
	// bad holds paths whose value could not be decoded; later checks stay
	// quiet about them so one mistake is reported once.
	bad map[string]bool
}

var durationType = reflect.TypeFor[time.Duration]()

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeYAML parses data into c, collecting structural problems (syntax,
// unknown or duplicate keys, wrong types) in the returned decoder. It returns
// an error right away only when the YAML cannot be parsed at all.
func decodeYAML(data []byte, file string, c *Config) (*decoder, error) {
	d := &decoder{file: file, pos: map[string]position{}, bad: map[string]bool{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(file, data, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return d, nil // empty file: the required-key checks report it
		}
		root = root.Content[0]
	}
	d.value(root, reflect.ValueOf(c).Elem(), "")
	return d, nil
}

func syntaxError(file string, data []byte, err error) error {
	ce := &ConfigError{File: file, Msg: strings.TrimPrefix(err.Error(), "yaml: "), Err: err}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return ce
	}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		ce.Line, _ = strconv.Atoi(m[1])
		ce.Msg = "invalid YAML: " + m[2]
		if l := problemLine(data, m[2]); l > 0 {
			ce.Line = l
		}
	} else {
		ce.Msg = "invalid YAML: " + ce.Msg
	}
	return ce
}

// problemLine returns the line a YAML syntax error is on, or 0 when it cannot tell. yaml.v3
// names the line where the enclosing block starts (libyaml's context mark, and counted from 0)
// rather than the problem's own: a mis-indented line 13 under `microsoft:` on line 10 comes out
// as line 9. The problem mark is not exposed, so the parser is asked instead: the problem is on
// the first line at which the file, cut after that line, fails with the same message. A binary
// search over the cut needs a handful of parses, and only for a file that is already broken.
func problemLine(data []byte, msg string) int {
	// ends[i] is the length of the first i+1 lines.
	var ends []int
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	failsAt := func(n int) bool { // the first n lines fail with msg
		var doc yaml.Node
		err := yaml.Unmarshal(data[:ends[n-1]], &doc)
		if err == nil {
			return false
		}
		m := yamlLineRE.FindStringSubmatch(err.Error())
		return m != nil && m[2] == msg
	}
	lo, hi := 1, len(ends) // the answer is in [lo, hi]; all lines together fail with msg
	if !failsAt(hi) {
		return 0
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if failsAt(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (d *decoder) has(path string) bool { _, ok := d.pos[path]; return ok }

// errAt records a problem at a node.
func (d *decoder) errAt(n *yaml.Node, path, format string, args ...any) {
	e := &ConfigError{File: d.file, Field: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.bad[path] = true
	d.errs = append(d.errs, e)
}

// errf records a problem at a key path, pointing at the key's value or, for a
// missing key, at the nearest enclosing key the file has.
func (d *decoder) errf(path, format string, args ...any) {
	for p := path; ; p = parentPath(p) {
		if d.bad[p] {
			return
		}
		if p == "" {
			break
		}
	}
	e := &ConfigError{File: d.file, Field: path, Msg: fmt.Sprintf(format, args...)}
	for p := path; p != ""; p = parentPath(p) {
		if at, ok := d.pos[p]; ok {
			e.Line, e.Column = at.line, at.col
			break
		}
	}
	d.errs = append(d.errs, e)
}

func parentPath(p string) string {
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i+1) }

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// value decodes n into v, recording problems under path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if path != "" {
		d.pos[path] = position{n.Line, n.Column}
	}
	switch {
	case v.Type() == durationType:
		d.duration(n, v, path)
	case v.Kind() == reflect.Struct:
		d.structure(n, v, path)
	case v.Kind() == reflect.Slice:
		d.slice(n, v, path)
	case v.Kind() == reflect.Map:
		d.stringMap(n, v, path)
	case v.Kind() == reflect.String:
		d.str(n, v, path)
	case v.Kind() == reflect.Bool:
		d.boolean(n, v, path)
	case v.Kind() == reflect.Int:
		d.integer(n, v, path)
	case v.Kind() == reflect.Pointer:
		// An optional value: nil when the key is left out or null.
		if isNull(n) {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.value(n, p.Elem(), path)
		v.Set(p)
	default:
		panic("mapping: no decoder for " + v.Type().String())
	}
}

// yamlFields lists a struct's fields by yaml key, in declaration order.
func yamlFields(t reflect.Type) (keys []string, byKey map[string]int) {
	byKey = map[string]int{}
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		keys = append(keys, tag)
		byKey[tag] = i
	}
	return keys, byKey
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if f := v.FieldByName("Line"); f.IsValid() && f.Kind() == reflect.Int {
		f.SetInt(int64(n.Line))
	}
	if isNull(n) {
		return // `microsoft:` with nothing below: same as an empty mapping
	}
	if n.Kind != yaml.MappingNode {
		d.errAt(n, path, "expected a mapping with keys %s, got %s", strings.Join(mustKeys(v.Type()), ", "), kindName(n))
		return
	}
	keys, byKey := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		name := k.Value
		fieldPath := join(path, name)
		if k.Kind != yaml.ScalarNode {
			d.errAt(k, path, "a key must be a plain name; valid keys here: %s", strings.Join(keys, ", "))
			continue
		}
		fi, ok := byKey[name]
		if !ok {
			d.errAt(k, fieldPath, "unknown key%s; valid keys here: %s", suggest(name, keys), strings.Join(keys, ", "))
			if path != "" {
				// Most likely a misspelt key of this section: checks on the
				// section as a whole would only repeat the problem.
				d.bad[path] = true
			}
			continue
		}
		if first, dup := seen[name]; dup {
			d.errAt(k, fieldPath, "duplicate key; first given on line %d", first)
			continue
		}
		seen[name] = k.Line
		d.value(val, v.Field(fi), fieldPath)
	}
}

func mustKeys(t reflect.Type) []string { k, _ := yamlFields(t); return k }

// suggest returns ` (did you mean "x"?)` when name is close to a valid key.
func suggest(name string, valid []string) string {
	for _, v := range valid {
		if strings.EqualFold(v, name) || strings.EqualFold(strings.ReplaceAll(v, "_", ""), strings.ReplaceAll(name, "_", "")) || editDistance(strings.ToLower(v), strings.ToLower(name)) <= 2 {
			return fmt.Sprintf(" (did you mean %q?)", v)
		}
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// slice accepts a list, or a single scalar as a one-item list
// (`activity: InACall`). A null (`rules:`) is an explicit empty list.
func (d *decoder) slice(n *yaml.Node, v reflect.Value, path string) {
	var items []*yaml.Node
	switch {
	case isNull(n):
	case n.Kind == yaml.SequenceNode:
		items = n.Content
	case n.Kind == yaml.ScalarNode && v.Type().Elem().Kind() == reflect.String:
		items = []*yaml.Node{n}
	default:
		d.errAt(n, path, "expected a list, got %s", kindName(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, it := range items {
		d.value(it, out.Index(i), index(path, i))
	}
	v.Set(out)
}

func (d *decoder) stringMap(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errAt(n, path, "expected a mapping of STARFACE login to UPN, mail or object id, got %s", kindName(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), resolve(n.Content[i+1])
		p := join(path, k.Value)
		if k.Kind != yaml.ScalarNode || val.Kind != yaml.ScalarNode {
			d.errAt(k, p, "expected login: address")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errAt(k, p, "duplicate key; first given on line %d", first)
			continue
		}
		seen[k.Value] = k.Line
		d.pos[p] = position{val.Line, val.Column}
		m.SetMapIndex(reflect.ValueOf(k.Value), reflect.ValueOf(scalarText(val)))
	}
	v.Set(m)
}

func scalarText(n *yaml.Node) string {
	if isNull(n) {
		return ""
	}
	return n.Value
}

// str takes a scalar's text whatever YAML would resolve it to, so numbers
// keep their leading zeros. For dnd, a YAML boolean (`dnd: true`, or `on`
// turned into true by a YAML 1.1 tool) means on/off.
func (d *decoder) str(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errAt(n, path, "expected a single value, got %s", kindName(n))
		return
	}
	s := scalarText(n)
	if v.Type() == reflect.TypeFor[DND]() && n.Tag == "!!bool" {
		if b, err := strconv.ParseBool(strings.ToLower(s)); err == nil {
			s = string(DNDOff)
			if b {
				s = string(DNDOn)
			}
		}
	}
	v.SetString(s)
}

func (d *decoder) boolean(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode {
		// YAML 1.1 spellings too, as yaml.v3 itself accepts for a bool.
		switch strings.ToLower(n.Value) {
		case "true", "on", "yes", "y":
			v.SetBool(true)
			return
		case "false", "off", "no", "n":
			v.SetBool(false)
			return
		}
	}
	d.errAt(n, path, "%s is not valid; use true or false", kindName(n))
}

func (d *decoder) integer(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode {
		if i, err := strconv.Atoi(n.Value); err == nil {
			v.SetInt(int64(i))
			return
		}
	}
	d.errAt(n, path, "%s is not a whole number", kindName(n))
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode {
		if t, err := time.ParseDuration(n.Value); err == nil {
			v.SetInt(int64(t))
			return
		}
	}
	d.errAt(n, path, "%s is not a duration; use Go syntax such as 10s, 15m or 1h30m", kindName(n))
}
