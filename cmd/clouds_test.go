package cmd

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
)

// The cloud names the configuration accepts (mapping, which may not import graph) are exactly
// those the Graph client has endpoints for: the table lives in graph alone.
func TestConfigCloudsAreTheGraphClients(t *testing.T) {
	var schema struct {
		Properties struct {
			Microsoft struct {
				Properties struct {
					Cloud struct {
						Enum []string `json:"enum"`
					} `json:"cloud"`
				} `json:"properties"`
			} `json:"microsoft"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(mapping.Schema(), &schema); err != nil {
		t.Fatal(err)
	}
	got, want := slices.Sorted(slices.Values(schema.Properties.Microsoft.Properties.Cloud.Enum)), slices.Sorted(slices.Values(graph.CloudNames()))
	if !slices.Equal(got, want) {
		t.Errorf("microsoft.cloud accepts %v; the Graph client knows %v", got, want)
	}
	for _, c := range got {
		if _, err := mapping.Parse([]byte("microsoft:\n  cloud: "+c+"\n  tenant: contoso.onmicrosoft.com\n  client_id: 11111111-2222-3333-4444-555555555555\nstarface:\n  url: https://pbx.example.com\n  login: \"0001\"\n"), "m.yaml"); err != nil {
			t.Errorf("cloud %s: %v", c, err)
		}
	}
}
