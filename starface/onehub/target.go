package onehub

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DefaultPort is where an on-premises PBX serves OneHub (starface-onehub.md, "Connection").
const DefaultPort = "9092"

// DefaultTarget derives OneHub's host:port from the PBX's REST URL: the same host, port 9092.
func DefaultTarget(pbxURL string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(pbxURL))
	if err != nil || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("starface onehub: cannot derive the OneHub address from the PBX url %q: want https://host", pbxURL)
	}
	return net.JoinHostPort(u.Hostname(), DefaultPort), nil
}

// TargetFromURL reads a configured OneHub URL (starface.onehub_url, e.g.
// https://pbx.example.com:9092) or a cloud PBX's gRpcUrl (grpcs://ucapi.unified-cloud.eu) as
// host:port; without a port it is 443. Only TLS schemes are accepted: the bearer token must not
// travel in clear text.
func TargetFromURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("starface onehub: invalid url %q: %w", raw, err)
	}
	if u.Scheme != "https" && u.Scheme != "grpcs" {
		return "", fmt.Errorf("starface onehub: invalid url %q: scheme must be https or grpcs (OneHub needs TLS)", raw)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("starface onehub: invalid url %q: no host", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("starface onehub: invalid url %q: want scheme://host[:port] only", raw)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}
