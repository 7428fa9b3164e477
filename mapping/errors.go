package mapping

import (
	"fmt"
	"sort"
	"strings"
)

// ConfigError is one problem with the configuration: where it is (file, line,
// column, dotted key path) and what would be valid. cmd maps it to exit code 2.
type ConfigError struct {
	File         string
	Line, Column int
	// Field is the dotted key path, e.g. teams_to_starface.rules[2].dnd.
	// List indexes are 1-based, like the rule numbers of a Decision.
	Field string
	Msg   string
	// Err is the underlying error, if any (for example fs.ErrNotExist when
	// the file is missing), so errors.Is keeps working.
	Err error
}

// Error reads like
// "mapping.yaml:12:7: teams_to_starface.rules[2].dnd: "maybe" is not valid; use on, off or keep".
func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ConfigErrors holds every problem found in one file, in file order, so an
// administrator can fix them all in one go. errors.As finds the first as a
// *ConfigError.
type ConfigErrors []*ConfigError

// Error lists every problem, one per line.
func (es ConfigErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As and errors.Is look at each problem.
func (es ConfigErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sort puts problems in file order; problems without a position (a missing
// section) come last, in the order they were found.
func (es ConfigErrors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		if (es[i].Line == 0) != (es[j].Line == 0) {
			return es[j].Line == 0
		}
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Column < es[j].Column
	})
}

// err returns nil for no problems, so callers can write `return c, es.err()`
// without the typed-nil trap.
func (es ConfigErrors) err() error {
	if len(es) == 0 {
		return nil
	}
	es.sort()
	return es
}
