package state

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The lock file names the run that holds it, so that a run that finds the lock taken (exit 5)
// can say by whom: "held by pid 1234 (teamsface sync watch) since 09:00:01".
//
// The holder writes its record only once it has held the lock for holderDelay, and removes it
// when it lets go. A steady `sync once` every 10 s (a few hundred milliseconds) so writes
// nothing to the state directory, as DESIGN.md asks of a pass that changed nothing, while the
// runs that keep others waiting — sync watch, a pass stuck on a slow service — are named. A
// waiter with a --lock-timeout of holderDelay or more always finds the record of a holder that
// was there when it started waiting. A run killed while it held the lock leaves its record
// behind; the next long run replaces it, and until then it reads as what it was.
//
// The record follows one newline: Windows locks the file's first byte (LockFileEx), and a
// read of a locked byte fails, so readers start after it.

// holderDelay is how long a run holds the lock before its lock file names it.
const holderDelay = 2 * time.Second

// Holder is the run that holds a state directory's lock, as its lock file records it.
type Holder struct {
	PID int `json:"pid"`
	// Command is the holder's command line: the program's base name and its arguments. It
	// holds no secret: teamsface takes none from flags (only from the environment or files).
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

// String reads "pid 1234 (teamsface sync watch) since 09:00:01", with the date when it is not
// today's, in local time.
func (h Holder) String() string {
	layout := time.TimeOnly
	if h.Since.Format(time.DateOnly) != time.Now().Format(time.DateOnly) {
		layout = time.DateTime
	}
	return fmt.Sprintf("pid %d (%s) since %s", h.PID, h.Command, h.Since.Local().Format(layout))
}

// thisRun is the record of the current process, holding since since.
func thisRun(since time.Time) Holder {
	args := append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...)
	return Holder{PID: os.Getpid(), Command: strings.Join(args, " "), Since: since}
}

// writeHolder records h in the lock file f, which this process holds. It is not synced: the
// record only informs, and a crash that loses it loses nothing else.
func writeHolder(f *os.File, h Holder) error {
	rec, err := json.Marshal(h)
	if err != nil {
		return err
	}
	rec = append(append([]byte{'\n'}, rec...), '\n')
	if _, err := f.WriteAt(rec, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(rec)))
}

// clearHolder removes the record from the lock file f before this process lets go of it.
func clearHolder(f *os.File) error { return f.Truncate(0) }

// readHolder reads the record of the lock file at path; nil when there is none or it cannot be
// read, which leaves the error that needed it as it was.
func readHolder(path string) *Holder {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, 1, 4096))
	if err != nil {
		return nil
	}
	var h Holder
	if err := json.Unmarshal(data, &h); err != nil || h.PID == 0 {
		return nil
	}
	return &h
}

// LockedError is another run holding the lock after the wait (errors.Is(err, ErrLocked)).
type LockedError struct {
	Path    string
	Timeout time.Duration
	// Holder is what the lock file says of the run holding it; nil when it says nothing (the
	// holder has held it less than two seconds).
	Holder *Holder
}

func (e *LockedError) Error() string {
	held := ""
	if e.Holder != nil {
		held = ", held by " + e.Holder.String()
	}
	return fmt.Sprintf("%v on %s%s (gave up after %s; see --lock-timeout)", ErrLocked, e.Path, held, e.Timeout)
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }
