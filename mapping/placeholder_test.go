package mapping

import (
	"path/filepath"
	"reflect"
	"testing"
)

// The example's made-up tenant, client id and PBX are each found, in a copy of the example
// and alone; real values are not.
func TestPlaceholders(t *testing.T) {
	example, err := Load(filepath.Join("..", "mapping.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Placeholder{{"microsoft.tenant", "contoso.onmicrosoft.com"},
		{"microsoft.client_id", "11111111-2222-3333-4444-555555555555"}, {"starface.url", "https://pbx.example.com"}}
	if got := example.Placeholders(); !reflect.DeepEqual(got, want) {
		t.Fatalf("mapping.example.yaml: %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		name, microsoft, starface string
		want                      []Placeholder
	}{
		{"adjusted", "  tenant: fabrikam.onmicrosoft.com\n  client_id: 6f1c3e0a-1b2c-4d5e-8f90-123456789abc\n", "  url: https://pbx.fabrikam.de\n", nil},
		{"the tenant left", "  tenant: contoso.onmicrosoft.com\n  client_id: 6f1c3e0a-1b2c-4d5e-8f90-123456789abc\n", "  url: https://pbx.fabrikam.de\n", want[:1]},
		{"the client id left", "  tenant: fabrikam.onmicrosoft.com\n  client_id: 11111111-2222-3333-4444-555555555555\n", "  url: https://pbx.fabrikam.de\n", want[1:2]},
		{"the PBX left, with /rest and a port", "  tenant: fabrikam.onmicrosoft.com\n  client_id: 6f1c3e0a-1b2c-4d5e-8f90-123456789abc\n", "  url: https://PBX.example.com:8443/rest\n",
			[]Placeholder{{"starface.url", "https://PBX.example.com:8443"}}}, // as Load normalises it
		{"another host of example.com is not the example's", "  tenant: fabrikam.onmicrosoft.com\n  client_id: 6f1c3e0a-1b2c-4d5e-8f90-123456789abc\n", "  url: https://pbx2.example.com\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte("microsoft:\n"+tc.microsoft+"starface:\n"+tc.starface+"  login: \"0001\"\n"), "m.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Placeholders(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%+v, want %+v", got, tc.want)
			}
		})
	}
}
