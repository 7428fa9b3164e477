package mapping

import (
	"bytes"
	_ "embed"
)

// schemaJSON is mapping.schema.json, written by hand; schema_test.go keeps it in step with the
// loader (every key in both, the same enums and defaults) and checks it with a real validator.
//
//go:embed mapping.schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of the configuration file, for editors that
// complete and check mapping.yaml as it is typed (`teamsface help config --schema`). Load stays
// the authority: it reads scalars by their text and checks what a schema cannot say (duration
// ranges, secret files, the tests' outcome). The returned slice is the caller's.
func Schema() []byte { return bytes.Clone(schemaJSON) }
