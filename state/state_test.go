package state

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestDefaultDir(t *testing.T) {
	homeOK := func() (string, error) { return "/home/ann", nil }
	noHome := func() (string, error) { return "", errors.New("no home") }
	tests := []struct {
		name    string
		goos    string
		env     map[string]string
		home    func() (string, error)
		want    string
		wantErr bool
	}{
		{"explicit wins", "linux", map[string]string{"TEAMSFACE_STATE_DIR": "/srv/tf", "XDG_STATE_HOME": "/x"}, homeOK, "/srv/tf", false},
		{"xdg", "linux", map[string]string{"XDG_STATE_HOME": "/x/state"}, homeOK, filepath.Join("/x/state", "teamsface"), false},
		{"relative xdg ignored", "linux", map[string]string{"XDG_STATE_HOME": "rel"}, homeOK, filepath.Join("/home/ann", ".local", "state", "teamsface"), false},
		{"home", "darwin", nil, homeOK, filepath.Join("/home/ann", ".local", "state", "teamsface"), false},
		{"no home", "linux", nil, noHome, "", true},
		{"windows localappdata", "windows", map[string]string{"LOCALAPPDATA": `C:\Users\ann\AppData\Local`, "XDG_STATE_HOME": "/x"}, homeOK, filepath.Join(`C:\Users\ann\AppData\Local`, "teamsface"), false},
		{"windows explicit", "windows", map[string]string{"TEAMSFACE_STATE_DIR": `D:\tf`}, homeOK, `D:\tf`, false},
		{"windows nothing", "windows", nil, homeOK, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := defaultDir(tt.goos, func(k string) string { return tt.env[k] }, tt.home)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("dir = %q, want %q", got, tt.want)
			}
		})
	}
}
