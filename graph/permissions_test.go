package graph

import (
	"slices"
	"testing"
	"time"
)

func TestTokenPermissions(t *testing.T) {
	s := newEntra(t)
	tests := []struct {
		name          string
		token         string
		wantPerms     []string
		wantDelegated bool
		wantErr       bool
	}{
		{name: "application", token: s.IssueToken([]string{"Presence.Read.All", "User.Read.All"}, false, time.Hour),
			wantPerms: []string{"Presence.Read.All", "User.Read.All"}},
		{name: "delegated", token: s.IssueToken([]string{"Presence.Read.All", "User.Read.All", "Presence.ReadWrite"}, true, time.Hour),
			wantPerms: []string{"Presence.Read.All", "User.Read.All", "Presence.ReadWrite"}, wantDelegated: true},
		{name: "no permissions", token: s.IssueToken(nil, false, time.Hour)},
		{name: "opaque", token: "not-a-jwt", wantErr: true},
		{name: "bad base64", token: "a.%%%.c", wantErr: true},
		{name: "not json", token: "a.bm90IGpzb24.c", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			perms, delegated, err := TokenPermissions(tt.token)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !slices.Equal(perms, tt.wantPerms) || delegated != tt.wantDelegated {
				t.Errorf("got %v delegated=%v, want %v delegated=%v", perms, delegated, tt.wantPerms, tt.wantDelegated)
			}
		})
	}
}

func TestDelegatedScopes(t *testing.T) {
	got := delegatedScopes("https://graph.microsoft.com", []string{"Presence.ReadWrite", "offline_access", "https://graph.microsoft.com/User.Read.All", " "})
	want := []string{
		"https://graph.microsoft.com/Presence.Read.All",
		"https://graph.microsoft.com/User.Read.All",
		"https://graph.microsoft.com/Presence.ReadWrite",
		"offline_access",
	}
	if !slices.Equal(got, want) {
		t.Errorf("delegatedScopes = %v, want %v", got, want)
	}
}
