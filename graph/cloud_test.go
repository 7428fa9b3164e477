package graph

import (
	"errors"
	"strings"
	"testing"
)

func TestResolveCloud(t *testing.T) {
	tests := []struct {
		name, cloud, authority, graph string
		want                          Cloud
		wantErr                       string
	}{
		{name: "default", cloud: "", want: Cloud{"global", "https://login.microsoftonline.com", "https://graph.microsoft.com"}},
		{name: "global", cloud: "global", want: Cloud{"global", "https://login.microsoftonline.com", "https://graph.microsoft.com"}},
		{name: "usgov", cloud: "usgov", want: Cloud{"usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"}},
		{name: "usgov-dod", cloud: "usgov-dod", want: Cloud{"usgov-dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"}},
		{name: "china", cloud: "China", want: Cloud{"china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"}},
		{name: "germany", cloud: "germany", wantErr: "retired on 2021-10-29"},
		{name: "unknown", cloud: "mars", wantErr: "global, usgov, usgov-dod, china"},
		{name: "overrides with trailing slash", cloud: "global", authority: "https://127.0.0.1:8443/", graph: "https://Graph.Example.org/",
			want: Cloud{"global", "https://127.0.0.1:8443", "https://graph.example.org"}},
		{name: "http authority", cloud: "global", authority: "http://login.example.org", wantErr: "microsoft.authority_host"},
		{name: "http graph", cloud: "global", graph: "http://graph.example.org", wantErr: "must use https"},
		{name: "graph with path", cloud: "global", graph: "https://graph.microsoft.com/v1.0", wantErr: "without a path"},
		{name: "authority with tenant", cloud: "global", authority: "https://login.microsoftonline.com/contoso", wantErr: "without a path"},
		{name: "no host", cloud: "global", graph: "https://", wantErr: "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveCloud(tt.cloud, tt.authority, tt.graph)
			if tt.wantErr != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want *ConfigError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ResolveCloud = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestIsMicrosoftAuthority(t *testing.T) {
	tests := map[string]bool{
		"https://login.microsoftonline.com":      true,
		"https://login.microsoftonline.us":       true,
		"https://login.chinacloudapi.cn":         true,
		"https://127.0.0.1:8443":                 false,
		"https://login.microsoftonline.com:8443": false,
		"https://login.example.org":              false,
	}
	for origin, want := range tests {
		if got := isMicrosoftAuthority(origin); got != want {
			t.Errorf("isMicrosoftAuthority(%q) = %v, want %v", origin, got, want)
		}
	}
}
