// Package mapping is teamsface's configuration and its rules: it loads and
// validates the YAML file (mapping.yaml), decides from a Teams presence whether
// a STARFACE phone should be on Do-Not-Disturb, matches STARFACE users with
// Entra users, and reads the two secrets from the environment or a file.
//
// Everything here is a pure function of its inputs: the package does no I/O
// beyond reading the configuration file and the secret files, and imports
// neither the Graph nor the STARFACE client.
package mapping
