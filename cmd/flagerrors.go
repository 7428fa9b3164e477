package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
)

// flagValueError rewrites pflag's "invalid argument "abc" for "--users" flag: strconv.ParseInt:
// parsing "abc": invalid syntax" into what a user can act on: `--users "abc" is not valid; use a
// whole number`. Other errors pass through.
func flagValueError(err error) error {
	var iv *pflag.InvalidValueError
	if !errors.As(err, &iv) {
		return err
	}
	return fmt.Errorf("--%s %q is not valid; %s", iv.GetFlag().Name, iv.GetValue(), validValues(iv.GetFlag()))
}

// envValueError says the same of a value taken from the environment variable env.
func envValueError(env string, f *pflag.Flag, value string) error {
	return usagef("environment variable %s=%q is not valid; %s", env, value, validValues(f))
}

// validValues says what a flag of f's type accepts.
func validValues(f *pflag.Flag) string {
	switch f.Value.Type() {
	case "int", "int64", "uint", "uint64":
		return "use a whole number"
	case "duration":
		return "use a duration such as 10s, 1m or 1h30m"
	case "bool":
		return "use true or false"
	}
	return fmt.Sprintf("see --help for what --%s accepts", f.Name)
}
