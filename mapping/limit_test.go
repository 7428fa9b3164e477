package mapping

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A configuration file is a few kilobytes; a 48 MB file took 11 s and 1 GB of memory to refuse.
// Load reads at most MaxConfigSize bytes and names the file and the limit.
func TestLoadRefusesAFileOverTheSizeLimit(t *testing.T) {
	example, err := os.ReadFile("../mapping.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, size int) string {
		// Padded with a comment, so the file is valid YAML of exactly size bytes.
		pad := size - len(example) - 2
		data := string(example) + "\n#" + strings.Repeat("x", pad)
		if len(data) != size {
			t.Fatalf("built %d bytes, want %d", len(data), size)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := Load(write("at-limit.yaml", MaxConfigSize)); err != nil {
		t.Errorf("a file of exactly %d bytes: %v", MaxConfigSize, err)
	}
	big := write("too-big.yaml", MaxConfigSize+1)
	_, err = Load(big)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.File != big || !strings.Contains(ce.Msg, "1 MiB") {
		t.Fatalf("a file of %d bytes: %v; want a ConfigError naming the file and the 1 MiB limit", MaxConfigSize+1, err)
	}
}
