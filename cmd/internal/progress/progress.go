// Package progress draws one overwritable status line on stderr for reads that take a while
// (thousands of users), and nothing at all when stderr is not a terminal.
package progress

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// progressDelay is how long a read runs silently before it gets a progress line: most passes
// finish well within it, and a line that flashes up and vanishes is noise.
const progressDelay = time.Second

// progressRedraw bounds how often the line is rewritten, so thousands of Update calls (one per
// page or user) do not flood a slow terminal.
const progressRedraw = 100 * time.Millisecond

// Bar draws one overwritable status line on stderr for reads that take a while. It writes
// nothing unless enabled, which the caller sets only when stderr is a terminal and the output is
// not JSON: scripts, cron mail and journald must never see carriage returns. A nil *Bar is
// valid and draws nothing.
type Bar struct {
	w       io.Writer
	enabled bool
	now     func() time.Time

	mu    sync.Mutex
	width int // runes of the line currently on screen; 0 when none is
}

// Task is one read being reported, from Start to Done.
type Task struct {
	p     *Bar
	label string
	start time.Time

	// Guarded by p.mu, since every task draws on the same line.
	drawn time.Time
	done  bool
}

// New returns a Bar writing to w; it draws only when enabled (stderr is a terminal and the
// output is not JSON).
func New(w io.Writer, enabled bool, now func() time.Time) *Bar {
	if now == nil {
		now = time.Now
	}
	return &Bar{w: w, enabled: enabled && w != nil, now: now}
}

// Start begins a task; nothing is drawn until an Update comes at least a second later.
func (p *Bar) Start(label string) *Task {
	if p == nil || !p.enabled {
		return nil
	}
	return &Task{p: p, label: label, start: p.now()}
}

// Update reports done items of total; total <= 0 means the total is not known (paged reads).
// It is safe for concurrent use and for a nil task.
func (t *Task) Update(done, total int) {
	if t == nil {
		return
	}
	p := t.p
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if t.done || now.Sub(t.start) < progressDelay {
		return
	}
	final := total > 0 && done >= total
	if !t.drawn.IsZero() && now.Sub(t.drawn) < progressRedraw && !final {
		return
	}
	t.drawn = now
	line := t.label + "… " + GroupThousands(done)
	if total > 0 {
		line += "/" + GroupThousands(total)
	}
	p.draw(line)
}

// Done clears the line, if one was drawn, so the next output starts on a clean line.
func (t *Task) Done() {
	if t == nil {
		return
	}
	p := t.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.done {
		return
	}
	t.done = true
	if !t.drawn.IsZero() && p.width > 0 {
		// Spaces rather than an ANSI erase: Windows consoles without VT mode print escapes raw.
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.width)+"\r")
		p.width = 0
	}
}

// draw overwrites the current line with line, padding over what a longer earlier line left.
func (p *Bar) draw(line string) {
	n := len([]rune(line))
	pad := ""
	if p.width > n {
		pad = strings.Repeat(" ", p.width-n)
	}
	fmt.Fprint(p.w, "\r"+line+pad)
	p.width = n
}

// GroupThousands writes n with commas between groups of three digits: 12,345.
func GroupThousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
