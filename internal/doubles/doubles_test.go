package doubles

import (
	"slices"
	"testing"
)

func TestLog(t *testing.T) {
	var l Log[string]
	l.Add("a")
	update := l.Add("b")
	l.Add("bb")
	update(func(e *string) { *e = "b answered" })
	if got, want := l.All(), []string{"a", "b answered", "bb"}; !slices.Equal(got, want) {
		t.Fatalf("All = %q, want %q", got, want)
	}
	if n := l.Count(func(e string) bool { return e[0] == 'b' }); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
	l.Reset()
	l.Add("c")
	update(func(e *string) { *e = "from before the reset" }) // must not touch "c"
	if got := l.All(); !slices.Equal(got, []string{"c"}) {
		t.Errorf("after Reset and a stale update: %q, want [c]", got)
	}
}

type fault struct {
	name  string
	on    string
	times int
}

func TestTake(t *testing.T) {
	var fs Faults[fault]
	fs.AddFault(fault{"twice", "x", 2})
	fs.AddFault(fault{"for ever", "x", 0})
	fs.AddFault(fault{"other", "y", 1})
	take := func(call string) string {
		f, ok := Take(&fs, func(f fault) bool { return f.on == call }, func(f fault) int { return f.times })
		if !ok {
			return "none"
		}
		return f.name
	}
	tests := []struct{ call, want string }{
		{"x", "twice"},
		{"y", "other"},
		{"x", "twice"},
		{"x", "for ever"}, // "twice" is used up
		{"y", "none"},
		{"x", "for ever"},
		{"z", "none"},
	}
	for i, tt := range tests {
		if got := take(tt.call); got != tt.want {
			t.Errorf("call %d (%s): fault %q, want %q", i+1, tt.call, got, tt.want)
		}
	}
	fs.ClearFaults()
	if got := take("x"); got != "none" {
		t.Errorf("after ClearFaults: %q", got)
	}
}
