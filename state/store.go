package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/teamsface/teamsface/internal/atomicfile"
)

// The files of the state directory. Token caches (token-*.json) live there
// too but belong to their clients; Reset leaves them alone.
const (
	stateName   = "state.json"
	matchName   = "match.json"
	journalName = "journal"
	lockName    = "lock"
)

// lockRetry is how often a waiting Open tries the lock again.
const lockRetry = 50 * time.Millisecond

// ErrLocked means another teamsface run holds the state directory's lock.
var ErrLocked = errors.New("state: another teamsface run holds the lock")

var errClosed = errors.New("state: store is closed")

// CorruptError is a state.json (or journal) that cannot be parsed.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state: %s is corrupt (%v): run with --reset-state to start afresh; "+
		"teamsface then forgets which DND it switched on — check those phones by hand", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// VersionError is a state.json written by a newer teamsface. It is refused
// rather than half-read: an older teamsface would drop what it does not know
// on the next Save.
type VersionError struct {
	Path    string
	Version int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("state: %s is version %d, from a newer teamsface (this one reads up to version %d): "+
		"upgrade teamsface, or run with --reset-state to start afresh", e.Path, e.Version, Version)
}

// Store is an open state directory whose lock this process holds. Its
// methods are safe for concurrent use.
type Store struct {
	dir string

	mu   sync.Mutex
	lock *os.File // nil once closed
	// since is when the lock was taken; holderTimer writes the lock file's record of this run
	// (see holderDelay), and holderWritten says it did, so that Close removes it.
	since         time.Time
	holderTimer   *time.Timer
	holderWritten bool
	// journalled: the journal holds intents, so the next Save must settle it.
	journalled bool
	// journal is the journal's content as last read or written: an intent that stays open pass
	// after pass (its phone cannot be read) does not rewrite the journal every pass.
	journal []byte
	// written counts the bytes written to the directory, and syncs the fsyncs, for benchmarks
	// and metrics.
	written, syncs int64
}

// Written reports the bytes written to the state directory, and the files synced to disk,
// since the store was opened: its files, not the lock file's record of its holder (written once
// by a run that holds the lock for two seconds or more).
func (s *Store) Written() (bytes, syncs int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written, s.syncs
}

// write replaces one file of the directory atomically and counts it.
func (s *Store) write(name string, data []byte) error {
	if err := atomicfile.WriteFile(s.path(name), data, 0o600); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	s.written += int64(len(data))
	s.syncs++
	return nil
}

// Open opens the state directory dir, creating it 0700, and takes an
// exclusive OS lock on dir/lock for the whole run. While another process
// holds it, Open retries every 50ms for up to lockTimeout (0: not at all)
// and then returns a *LockedError (errors.Is(err, ErrLocked)), which names the
// holder when its lock file does (see holderDelay). The OS drops the lock when
// its holder dies, so a killed run never blocks the next one.
//
// A user who does not own dir is refused with an *OwnerError (see CheckOwner) before anything
// in it is read, created, locked or tightened: the files of a state directory keep one owner.
//
// An existing directory that group or others may access is tightened to 0700
// rather than refused: it holds cached tokens, and a directory made with a
// plain mkdir (0755) or by a provisioning tool should neither stay readable
// nor make every cron run fail.
func Open(dir string, lockTimeout time.Duration) (*Store, error) {
	if dir == "" {
		return nil, errors.New("state: no state directory given")
	}
	if err := CheckOwner(dir); err != nil {
		return nil, permissionHint(dir, dir, err)
	}
	if err := prepareDir(dir); err != nil {
		return nil, permissionHint(dir, dir, err)
	}
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, permissionHint(dir, path, fmt.Errorf("state: open lock file: %w", err))
	}
	if err := acquire(f, lockTimeout); err != nil {
		f.Close()
		return nil, permissionHint(dir, path, err)
	}
	s := &Store{dir: dir, lock: f, since: time.Now()}
	s.holderTimer = time.AfterFunc(holderDelay, s.recordHolder)
	s.removeTemps()
	return s, nil
}

// recordHolder names this run in the lock file, if it still holds it. A record that cannot be
// written only leaves a waiting run's message without it.
func (s *Store) recordHolder() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return
	}
	if writeHolder(s.lock, thisRun(s.since)) == nil {
		s.holderWritten = true
	}
}

func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state: create state directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state: state directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("state: state directory %s is not a directory", dir)
	}
	return restrictDir(dir, fi)
}

func acquire(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := tryLock(f)
		if err != nil {
			return fmt.Errorf("state: lock %s: %w", f.Name(), err)
		}
		if ok {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &LockedError{Path: f.Name(), Timeout: timeout, Holder: readHolder(f.Name())}
		}
		time.Sleep(min(lockRetry, left))
	}
}

// removeTemps removes temporary files a run killed inside Save left behind.
// Only the lock holder writes state.json, so none of them is in use.
func (s *Store) removeTemps() {
	for _, name := range []string{stateName, matchName, journalName} {
		matches, _ := filepath.Glob(filepath.Join(s.dir, atomicfile.TempPrefix(name)+"*"))
		for _, m := range matches {
			os.Remove(m)
		}
	}
}

// Dir returns the state directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

// Load reads state.json and match.json. A missing file gives a fresh State;
// one that cannot be parsed gives a *CorruptError; one from a newer teamsface
// a *VersionError. A state.json of version 1 or 2 is upgraded (and written as
// version 3 by the next Save).
func (s *Store) Load() (*State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return nil, errClosed
	}
	st, err := readState(s.dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(s.path(journalName))
	s.journalled = err == nil && fi.Size() > 0
	return st, nil
}

// Save makes st durable, then replaces the journal with open (usually
// nothing): the intents recorded since the last Save are settled in st, except
// those whose outcome the caller does not know yet. A pass in which nothing
// that must survive changed writes nothing at all: no state.json, no
// match.json, no journal, no fsync. Each file that changed is replaced
// atomically (see atomicfile.WriteFile).
func (s *Store) Save(st *State, open ...Intent) error {
	if st == nil {
		return errors.New("state: save: no state")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return errClosed
	}
	if st.matchDirty && st.match == nil {
		// The match was forgotten (teamsface release).
		if err := os.Remove(s.path(matchName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state: forget the match: %w", err)
		}
		st.matchDirty = false
	}
	if st.matchDirty && st.match != nil {
		data, err := json.Marshal(wireMatch{Version: Version, MatchCache: st.match})
		if err != nil {
			return fmt.Errorf("state: encode match: %w", err)
		}
		if err := s.write(matchName, append(data, '\n')); err != nil {
			return err
		}
		st.matchDirty = false
	}
	if st.dirty {
		data, err := encode(st)
		if err != nil {
			return err
		}
		if err := s.write(stateName, data); err != nil {
			return err
		}
		st.dirty = false
	}
	// Only after the new state.json is durable: a crash in between leaves
	// intents that are already settled, which the next run finds consistent
	// with the state; the reverse order could lose a write.
	if len(open) == 0 {
		if !s.journalled {
			return nil
		}
		if err := clearJournal(s.path(journalName)); err != nil {
			return permissionHint(s.dir, s.path(journalName), fmt.Errorf("state: settle journal: %w", err))
		}
		s.journalled, s.journal = false, nil
		s.syncs++
		return nil
	}
	// Intents whose outcome is still unknown replace the journal in one atomic step, so that
	// there is no moment at which a write that may have landed is recorded nowhere.
	data, err := encodeIntents(open)
	if err != nil {
		return err
	}
	if s.journalled && bytes.Equal(data, s.journal) {
		return nil
	}
	// s.write's error names the file; it says "state: " already.
	if err := s.write(journalName, data); err != nil {
		return err
	}
	s.journalled, s.journal = true, data
	return nil
}

func encodeIntents(in []Intent) ([]byte, error) {
	var buf bytes.Buffer
	for _, i := range in {
		line, err := json.Marshal(i)
		if err != nil {
			return nil, fmt.Errorf("state: encode intent: %w", err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// encode writes state.json compactly: it is rewritten whole whenever it
// changes, and 10,000 users indented cost a tenth of a second and 5 MB.
// Map keys come out sorted, so equal states encode equally.
func encode(st *State) ([]byte, error) {
	data, err := json.Marshal(toWire(st))
	if err != nil {
		return nil, fmt.Errorf("state: encode state: %w", err)
	}
	return append(data, '\n'), nil
}

func clearJournal(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Size() == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// RecordIntents appends in to the journal, one JSON line each, with a single
// fsync, and returns once they are on disk: call it before the STARFACE
// writes it announces.
func (s *Store) RecordIntents(in []Intent) error {
	if len(in) == 0 {
		return nil
	}
	data, err := encodeIntents(in)
	if err != nil {
		return fmt.Errorf("state: record intents: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return errClosed
	}
	s.journalled = true
	if err := appendJournal(s.dir, data); err != nil {
		return permissionHint(s.dir, s.path(journalName), fmt.Errorf("state: record intents: %w", err))
	}
	s.journal = nil // appended to: not what was read or written as a whole any more
	s.written += int64(len(data))
	s.syncs++
	return nil
}

func appendJournal(dir string, data []byte) error {
	path := filepath.Join(dir, journalName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	created := err == nil
	if errors.Is(err, fs.ErrExist) {
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	// O_APPEND is not used: on Windows it takes away the right to truncate,
	// and the lock already rules out a second writer.
	if err := dropTornTail(f); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if created {
		// The new file's directory entry must survive a crash as well.
		if err := atomicfile.SyncDir(dir); err != nil {
			return err
		}
	}
	return f.Close()
}

// dropTornTail cuts a line a crash left half-written off the end of the
// journal, so the next lines do not get glued to it. Its RecordIntents never
// returned, so the write it announced never happened.
func dropTornTail(f *os.File) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	all := make([]byte, fi.Size())
	if _, err := f.ReadAt(all, 0); err != nil {
		return err
	}
	return f.Truncate(int64(bytes.LastIndexByte(all, '\n') + 1))
}

// Pending returns the intents recorded since the last Save, oldest first.
// Each announced a write that may or may not have happened before the run
// ended; the caller reconciles them with the phone configs it reads.
func (s *Store) Pending() ([]Intent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return nil, errClosed
	}
	data, err := os.ReadFile(s.path(journalName))
	if errors.Is(err, fs.ErrNotExist) {
		s.journal = nil
		return nil, nil
	}
	if err != nil {
		return nil, permissionHint(s.dir, s.path(journalName), fmt.Errorf("state: read journal: %w", err))
	}
	s.journal = data
	return parseJournal(s.path(journalName), data)
}

// Reset removes state.json and the journal (--reset-state). Cached tokens
// and the lock stay.
func (s *Store) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return errClosed
	}
	for _, name := range []string{stateName, matchName, journalName} {
		if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state: reset: %w", err)
		}
	}
	s.journalled = false
	s.removeTemps()
	if err := atomicfile.SyncDir(s.dir); err != nil {
		return fmt.Errorf("state: reset: %w", err)
	}
	return nil
}

// Close releases the lock. The lock file itself stays: removing it would let
// a waiting run lock a file that a third run no longer sees.
func (s *Store) Close() error {
	s.holderTimer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return nil
	}
	f := s.lock
	s.lock = nil
	if s.holderWritten {
		// While it still holds the lock: a record left behind would name a run that ended. One
		// that cannot be removed reads as what it was.
		_ = clearHolder(f)
	}
	uerr := unlock(f)
	cerr := f.Close()
	if err := errors.Join(uerr, cerr); err != nil {
		return fmt.Errorf("state: release lock: %w", err)
	}
	return nil
}

// ReadOnly reads the state and the pending intents of dir without taking the
// lock or creating anything, for --dry-run and `presence get`. A missing
// directory reads as a fresh state. It can run beside a sync: state.json is
// only ever replaced whole, and a journal line being appended is ignored.
// A user who does not own dir is refused with an *OwnerError (see CheckOwner)
// before anything is read, as Open refuses them.
func ReadOnly(dir string) (*State, []Intent, error) {
	if err := CheckOwner(dir); err != nil {
		return nil, nil, permissionHint(dir, dir, err)
	}
	st, err := readState(dir)
	if err != nil {
		return nil, nil, err
	}
	in, err := readJournal(dir)
	if err != nil {
		return nil, nil, err
	}
	return st, in, nil
}

// readState reads state.json and match.json from dir.
func readState(dir string) (*State, error) {
	path := filepath.Join(dir, stateName)
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, permissionHint(dir, path, fmt.Errorf("state: read state: %w", err))
	}
	st := New()
	if err == nil {
		if st, err = decode(path, raw); err != nil {
			return nil, err
		}
	}
	if st.match != nil {
		return st, nil // upgraded from version 1, which held the match
	}
	path = filepath.Join(dir, matchName)
	raw, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, permissionHint(dir, path, fmt.Errorf("state: read match: %w", err))
	}
	var m wireMatch
	if err := json.Unmarshal(raw, &m); err != nil || m.MatchCache == nil || m.Version > Version {
		// Only a cache: match anew rather than stop the run.
		return st, nil
	}
	st.match = m.MatchCache
	return st, nil
}

func decode(path string, raw []byte) (*State, error) {
	var head struct {
		Version int `json:"version"`
	}
	herr := json.Unmarshal(raw, &head)
	if herr == nil && head.Version > Version {
		// Refused rather than half-read: an older teamsface would drop what it
		// does not know on the next Save.
		return nil, &VersionError{Path: path, Version: head.Version}
	}
	if herr == nil && head.Version == 1 {
		st, err := upgradeV1(raw)
		if err != nil {
			return nil, &CorruptError{Path: path, Err: err}
		}
		return st, nil
	}
	var w wireState
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, &CorruptError{Path: path, Err: err}
	}
	if w.Version < 1 {
		return nil, &CorruptError{Path: path, Err: errNoVersion}
	}
	return fromWire(&w), nil
}

func readJournal(dir string) ([]Intent, error) {
	path := filepath.Join(dir, journalName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, permissionHint(dir, path, fmt.Errorf("state: read journal: %w", err))
	}
	return parseJournal(path, data)
}

// parseJournal reads JSON lines. A last line without its newline that does
// not parse was torn by a crash mid-append and is ignored; any other bad line
// means the file is corrupt.
func parseJournal(path string, data []byte) ([]Intent, error) {
	var out []Intent
	for n := 1; len(data) > 0; n++ {
		line, rest, complete := bytes.Cut(data, []byte{'\n'})
		data = rest
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var in Intent
		if err := json.Unmarshal(line, &in); err != nil {
			if !complete {
				break
			}
			return nil, &CorruptError{Path: path, Err: fmt.Errorf("line %d: %w", n, err)}
		}
		out = append(out, in)
	}
	return out, nil
}
