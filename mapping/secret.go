package mapping

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ReadSecret returns a secret from file if it is set, else from the
// environment variable envName. what is the configuration key of the
// variable (microsoft.client_secret_env, starface.password_env); the file's
// key is derived from it. Problems are *ConfigError and never contain the
// secret itself.
func ReadSecret(file, envName, what string) (string, error) {
	return readSecret(file, envName, what, os.LookupEnv)
}

func readSecret(file, envName, what string, lookup func(string) (string, bool)) (string, error) {
	if file != "" {
		credDir, _ := lookup("CREDENTIALS_DIRECTORY")
		return readSecretFile(file, strings.TrimSuffix(what, "_env")+"_file", credDir)
	}
	if envName == "" {
		return "", &ConfigError{Field: what, Msg: "no environment variable or file set for this secret"}
	}
	v, ok := lookup(envName)
	switch {
	case !ok:
		return "", &ConfigError{Field: what, Msg: fmt.Sprintf("environment variable %s is not set; export it or name a file with %s", envName, strings.TrimSuffix(what, "_env")+"_file")}
	case strings.TrimSpace(v) == "":
		return "", &ConfigError{Field: what, Msg: fmt.Sprintf("environment variable %s is empty", envName)}
	}
	return v, nil
}

func readSecretFile(file, field, credentialsDir string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", &ConfigError{File: file, Field: field, Msg: fmt.Sprintf("read secret: %v", unwrapPathError(err)), Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", &ConfigError{File: file, Field: field, Msg: fmt.Sprintf("read secret: %v", unwrapPathError(err)), Err: err}
	}
	if !fi.Mode().IsRegular() {
		return "", &ConfigError{File: file, Field: field, Msg: "not a regular file"}
	}
	if !inCredentialsDir(file, credentialsDir, fi) {
		if err := checkSecretMode(file, fi); err != nil {
			return "", &ConfigError{File: file, Field: field, Msg: err.Error()}
		}
	}
	// Secrets are short; a bound keeps a wrong path (a log, a device) from
	// being read whole.
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", &ConfigError{File: file, Field: field, Msg: fmt.Sprintf("read secret: %v", unwrapPathError(err)), Err: err}
	}
	s := strings.TrimRight(string(data), "\r\n")
	if strings.TrimSpace(s) == "" {
		return "", &ConfigError{File: file, Field: field, Msg: "empty secret file"}
	}
	return s, nil
}

// ClientSecret is the Entra client secret from client_secret_file or the
// environment variable client_secret_env (default TEAMSFACE_CLIENT_SECRET).
func (c *Config) ClientSecret() (string, error) {
	s, err := readSecret(c.Microsoft.ClientSecretFile, c.Microsoft.ClientSecretEnv, "microsoft.client_secret_env", c.lookupEnv())
	return s, c.blame(err)
}

// StarfacePassword is the STARFACE administrator's password from
// password_file or the environment variable password_env (default
// STARFACE_PASSWORD).
func (c *Config) StarfacePassword() (string, error) {
	s, err := readSecret(c.Starface.PasswordFile, c.Starface.PasswordEnv, "starface.password_env", c.lookupEnv())
	return s, c.blame(err)
}

// StarfaceClientSecret is the OAuth client secret of starface.client_id (Server → Status →
// REST-API) from client_secret_file or the variable client_secret_env (default
// STARFACE_CLIENT_SECRET). With auth classic it is not read. With auth auto it is optional: ""
// when neither a file nor a variable of its own name is configured and the default variable is
// unset or empty; a file or variable named in the file must work. With auth oauth it is
// required.
func (c *Config) StarfaceClientSecret() (string, error) {
	s := c.Starface
	if s.Auth == "classic" {
		return "", nil
	}
	if s.Auth != "oauth" && s.ClientSecretFile == "" && s.ClientSecretEnv == DefaultStarfaceClientSecretEnv {
		v, ok := c.lookupEnv()(s.ClientSecretEnv)
		if !ok || strings.TrimSpace(v) == "" {
			return "", nil
		}
		return v, nil
	}
	v, err := readSecret(s.ClientSecretFile, s.ClientSecretEnv, "starface.client_secret_env", c.lookupEnv())
	return v, c.blame(err)
}

// blame names the configuration file in an error about a variable, which
// has no file of its own.
func (c *Config) blame(err error) error {
	if ce, ok := err.(*ConfigError); ok && ce.File == "" {
		ce.File = c.File
	}
	return err
}

// lookupEnv reads secrets' variables through Config.Getenv when the caller set one.
func (c *Config) lookupEnv() func(string) (string, bool) {
	if c.Getenv == nil {
		return os.LookupEnv
	}
	return func(k string) (string, bool) {
		v := c.Getenv(k)
		return v, v != ""
	}
}

// inCredentialsDir reports whether file is one of the credentials systemd handed to this unit
// (LoadCredential=, $CREDENTIALS_DIRECTORY). systemd grants the service user access to it with a
// POSIX ACL, which stat shows as a group read bit (mode 0440); the directory itself is private to
// the unit, so that bit is no leak. Others must still have no access at all.
func inCredentialsDir(file, credentialsDir string, fi fs.FileInfo) bool {
	if credentialsDir == "" || !filepath.IsAbs(credentialsDir) || fi.Mode().Perm()&0o007 != 0 {
		return false
	}
	abs, err := filepath.Abs(file)
	return err == nil && filepath.Dir(abs) == filepath.Clean(credentialsDir)
}
