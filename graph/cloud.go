package graph

import (
	"fmt"
	"net/url"
	"strings"
)

// Cloud names the two origins teamsface talks to in one Microsoft cloud: where it signs in and
// where Graph lives. Both are origins (scheme and host, no path, no trailing slash).
type Cloud struct {
	Name          string
	AuthorityHost string
	GraphEndpoint string
}

// clouds is the table from Microsoft's national-cloud pages (see shared/api/graph.md, "Clouds").
// GCC lives in the global cloud; GCC High and DoD share a sign-in host but not a Graph root.
var clouds = []Cloud{
	{Name: "global", AuthorityHost: "https://login.microsoftonline.com", GraphEndpoint: "https://graph.microsoft.com"},
	{Name: "usgov", AuthorityHost: "https://login.microsoftonline.us", GraphEndpoint: "https://graph.microsoft.us"},
	{Name: "usgov-dod", AuthorityHost: "https://login.microsoftonline.us", GraphEndpoint: "https://dod-graph.microsoft.us"},
	{Name: "china", AuthorityHost: "https://login.chinacloudapi.cn", GraphEndpoint: "https://microsoftgraph.chinacloudapi.cn"},
}

// microsoftAuthorityHosts are sign-in hosts MSAL trusts without instance discovery; any other
// authority host was set by hand (a test server, a proxy) and needs DisableInstanceDiscovery,
// or MSAL would ask login.microsoftonline.com whether the host is valid.
var microsoftAuthorityHosts = map[string]bool{
	"login.microsoftonline.com":        true,
	"login.microsoftonline.us":         true,
	"login.chinacloudapi.cn":           true,
	"login.partner.microsoftonline.cn": true,
	"login.microsoft.com":              true,
	"login.windows.net":                true,
	"login.usgovcloudapi.net":          true,
	"login-us.microsoftonline.com":     true,
	"sts.windows.net":                  true,
}

// ConfigError reports a configuration value teamsface cannot use (exit code 2), as opposed to an
// *AuthError, which Microsoft produced or which needs a sign-in.
type ConfigError struct {
	Field string // the configuration key or file, e.g. "microsoft.cloud"
	Msg   string
}

func (e *ConfigError) Error() string {
	if e.Field == "" {
		return "graph: " + e.Msg
	}
	return "graph: " + e.Field + ": " + e.Msg
}

// CloudNames lists the names ResolveCloud accepts.
func CloudNames() []string {
	names := make([]string, len(clouds))
	for i, c := range clouds {
		names[i] = c.Name
	}
	return names
}

// ResolveCloud looks up a cloud by name ("" means global) and applies the optional overrides of its
// authority host and Graph endpoint, which must be https origins.
func ResolveCloud(name, authorityOverride, graphOverride string) (Cloud, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	if key == "" {
		key = "global"
	}
	if key == "germany" {
		return Cloud{}, &ConfigError{Field: "microsoft.cloud", Msg: `"germany": Microsoft Cloud Deutschland was retired on 2021-10-29; tenants moved to the global cloud (use "global")`}
	}
	var c Cloud
	for _, cand := range clouds {
		if cand.Name == key {
			c = cand
		}
	}
	if c.Name == "" {
		return Cloud{}, &ConfigError{Field: "microsoft.cloud", Msg: fmt.Sprintf("unknown cloud %q (valid: %s)", name, strings.Join(CloudNames(), ", "))}
	}
	if authorityOverride != "" {
		o, err := parseOrigin(authorityOverride)
		if err != nil {
			return Cloud{}, &ConfigError{Field: "microsoft.authority_host", Msg: err.Error()}
		}
		c.AuthorityHost = o
	}
	if graphOverride != "" {
		o, err := parseOrigin(graphOverride)
		if err != nil {
			return Cloud{}, &ConfigError{Field: "microsoft.graph_endpoint", Msg: err.Error()}
		}
		c.GraphEndpoint = o
	}
	return c, nil
}

// parseOrigin accepts "https://host[:port]" with an optional trailing slash and returns it without.
func parseOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "https" {
		// azidentity refuses a non-https authority, and a token must never travel in clear text.
		return "", fmt.Errorf("%q must use https", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q has no host", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q must be an origin such as https://host[:port], without a path", s)
	}
	return "https://" + strings.ToLower(u.Host), nil
}

// isMicrosoftAuthority reports whether the authority origin is one of Microsoft's own sign-in hosts.
func isMicrosoftAuthority(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return microsoftAuthorityHosts[strings.ToLower(u.Hostname())] && u.Port() == ""
}
