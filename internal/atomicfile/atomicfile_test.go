package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestWriteFileReplaces(t *testing.T) {
	tests := []struct {
		name string
		perm os.FileMode
	}{
		{"secret", 0o600},
		{"metrics", 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.name)
			for _, content := range []string{"old", "new"} {
				if err := WriteFile(path, []byte(content), tt.perm); err != nil {
					t.Fatal(err)
				}
				if got, _ := os.ReadFile(path); string(got) != content {
					t.Fatalf("content %q, want %q", got, content)
				}
			}
			if fi, err := os.Stat(path); err != nil {
				t.Fatal(err)
			} else if got := fi.Mode().Perm(); runtime.GOOS != "windows" && got != tt.perm {
				t.Errorf("mode %04o, want %04o", got, tt.perm)
			}
			assertNoTemps(t, dir, tt.name)
		})
	}
}

// A write that fails leaves the old file as it was and no temporary file behind.
func TestWriteFileFails(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path to write
		is    error
	}{
		{"missing directory", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "missing", "f")
		}, fs.ErrNotExist},
		{"target is a directory", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "d")
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(p, "keep"), []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(t, dir)
			err := WriteFile(path, []byte("new"), 0o600)
			if err == nil {
				t.Fatal("write succeeded")
			}
			if want := "write " + path + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not begin with %q", err, want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if got, err := os.ReadFile(filepath.Join(path, "keep")); tt.is == nil && string(got) != "old" {
				t.Errorf("the directory written over lost its content: %q, %v", got, err)
			}
			assertNoTemps(t, filepath.Dir(path), filepath.Base(path))
		})
	}
}

func assertNoTemps(t *testing.T, dir, base string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix(base)) {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
