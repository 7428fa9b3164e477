package mapping

import (
	"net/url"
	"strings"
)

// Placeholder is a key that still holds one of mapping.example.yaml's made-up values: the file
// was copied and not adjusted. Its rules may be fine while every sign-in fails, so `mapping
// check` warns about it.
type Placeholder struct {
	Key, Value string
}

// examplePBXHost is the example's PBX; example.com is reserved for documentation (RFC 2606).
const examplePBXHost = "pbx.example.com"

// Placeholders lists the keys of c that still hold mapping.example.yaml's made-up values, in
// file order.
func (c *Config) Placeholders() []Placeholder {
	var out []Placeholder
	if c.Microsoft.Tenant == "contoso.onmicrosoft.com" {
		out = append(out, Placeholder{"microsoft.tenant", c.Microsoft.Tenant})
	}
	if c.Microsoft.ClientID == "11111111-2222-3333-4444-555555555555" {
		out = append(out, Placeholder{"microsoft.client_id", c.Microsoft.ClientID})
	}
	if u, err := url.Parse(c.Starface.URL); err == nil && strings.EqualFold(u.Hostname(), examplePBXHost) {
		out = append(out, Placeholder{"starface.url", c.Starface.URL})
	}
	return out
}
