#!/bin/sh
# Runs before the package's files are removed (deb: prerm remove|upgrade|...; rpm: %preun 0|1).
# On an uninstall (not an upgrade) it stops and disables teamsface and gives every phone back:
# `teamsface release` switches off each DND teamsface switched on, clears each Teams session it
# set, puts back each redirect it switched on and forgets them, for the main configuration and each teamsface@NAME instance. A release
# that fails (PBX unreachable, credentials rejected) is reported and does not stop the removal:
# the state and the configuration stay, marked so that a purge keeps them, and the release can be
# run again.

case "$1" in
    remove|0) ;;
    *) exit 0 ;; # upgrade, deconfigure, failed-upgrade: teamsface stays installed
esac

# Stop and disable every unit, instances included: an enabled unit whose file is gone leaves a
# dangling link, and a running one holds the state lock the release needs. systemctl disable
# works without a running systemd too (a chroot, a container build); stop needs one.
units="teamsface.timer teamsface-once.service teamsface.service"
for config in /etc/teamsface/*/mapping.yaml /etc/systemd/system/*.wants/teamsface@*.service; do
    case "$config" in
        */mapping.yaml) [ -f "$config" ] || continue; name=$(basename "$(dirname "$config")") ;;
        *) [ -e "$config" ] || [ -L "$config" ] || continue; name=${config##*/teamsface@}; name=${name%.service} ;;
    esac
    case " $units " in
        *" teamsface@$name.service "*) ;;
        *) units="$units teamsface@$name.service" ;;
    esac
done
if command -v systemctl >/dev/null 2>&1; then
    for unit in $units; do
        systemctl disable "$unit" >/dev/null 2>&1 || true
        if [ -d /run/systemd/system ]; then
            systemctl stop "$unit" >/dev/null 2>&1 || true
        fi
    done
    if [ -d /run/systemd/system ]; then
        # Instances started by hand under another name than their configuration's directory.
        systemctl stop 'teamsface@*.service' >/dev/null 2>&1 || true
    fi
fi

# load_env_file FILE exports the variables of FILE as systemd reads an EnvironmentFile=
# (systemd.exec(5)), and like systemd expands and runs nothing: a password with $, a backquote or
# quotes is passed on as it is. Implemented:
#   - lines: KEY=VALUE; blank lines, lines starting with # or ; (comments) and lines without =
#     are skipped; a KEY that is not a variable name ([A-Za-z_][A-Za-z0-9_]*) is skipped with a
#     warning naming the line; a carriage return ends a line like a newline; the last of several
#     assignments of a KEY wins;
#   - spaces and tabs around KEY, and before and after VALUE, are dropped;
#   - unquoted: a backslash keeps the next character as it is (\\ is \, \$ is $); a backslash at
#     the end of a line joins the next line; quotes inside are kept as they are;
#   - '...': everything up to the next ' as it is, newlines included; no escapes;
#   - "...": as in a POSIX shell's double quotes, less expansion: \" \\ \` \$ give the character,
#     a backslash before a newline joins the lines, any other backslash stays; newlines included;
#   - quoted and unquoted parts follow one another: A='x'"y"z is xyz;
#   - a comment ending in a backslash continues onto the next line with systemd before 254 (the
#     version systemctl --version reports), not with later ones.
# Checked against systemd 252's own parser (the one it reads os-release with, too). Not
# implemented: systemd skips an assignment that is not valid UTF-8, this passes its bytes on;
# files over 64 KiB are refused; names starting with _tf_ are this parser's own.
load_env_file() {
    [ -f "$1" ] || return 0
    if [ "$(wc -c <"$1")" -gt 65536 ]; then
        echo "teamsface: $1 is larger than 64 KiB; not read" >&2
        return 1
    fi
    _tf_cr=$(printf '\r')
    # The version of the systemd that reads the file for the units (without one: the current rules).
    _tf_systemd=$(systemctl --version 2>/dev/null | sed -n '1s/^systemd \([0-9][0-9]*\).*/\1/p')
    _tf_systemd=${_tf_systemd:-999}
    _tf_file=$1 _tf_state=pre_key _tf_key='' _tf_kws='' _tf_value='' _tf_ws='' _tf_line=1 _tf_eof=''
    while [ -z "$_tf_eof" ]; do
        if ! IFS= read -r _tf_text; then
            [ -n "$_tf_text" ] || break
            _tf_eof=yes # the last line has no newline
        fi
        while :; do
            if [ -z "$_tf_text" ]; then
                [ -n "$_tf_eof" ] && break
                _tf_c='nl' # the newline read removed
            else
                _tf_c=${_tf_text%"${_tf_text#?}"}
                _tf_text=${_tf_text#?}
                [ "$_tf_c" = "$_tf_cr" ] && _tf_c='nl'
            fi
            case "$_tf_state:$_tf_c" in
                pre_key:nl) _tf_line=$((_tf_line + 1)) ;;
                pre_key:[\#\;]) _tf_state=comment ;;
                pre_key:[[:blank:]]) ;;
                pre_key:*) _tf_state=key _tf_key=$_tf_c _tf_kws='' ;;
                key:nl) _tf_state=pre_key _tf_line=$((_tf_line + 1)) ;; # no =: skipped
                key:=) _tf_state=pre_value _tf_value='' _tf_ws='' ;;
                key:[[:blank:]]) _tf_kws=$_tf_kws$_tf_c ;;
                key:*) _tf_key=$_tf_key$_tf_kws$_tf_c _tf_kws='' ;;
                pre_value:nl) env_file_set && _tf_state=pre_key _tf_line=$((_tf_line + 1)) ;;
                pre_value:\') _tf_state=single ;;
                pre_value:\") _tf_state=double ;;
                pre_value:\\) _tf_state=value_escape ;;
                pre_value:[[:blank:]]) ;;
                pre_value:*) _tf_state=value _tf_value=$_tf_value$_tf_c _tf_ws='' ;;
                value:nl) env_file_set && _tf_state=pre_key _tf_line=$((_tf_line + 1)) ;;
                value:\\) _tf_state=value_escape _tf_value=$_tf_value$_tf_ws _tf_ws='' ;;
                value:[[:blank:]]) _tf_ws=$_tf_ws$_tf_c ;;
                value:*) _tf_value=$_tf_value$_tf_ws$_tf_c _tf_ws='' ;;
                value_escape:nl) _tf_state=value _tf_line=$((_tf_line + 1)) ;;
                value_escape:*) _tf_state=value _tf_value=$_tf_value$_tf_c ;;
                single:\') _tf_state=pre_value ;;
                single:nl) _tf_value="$_tf_value
" _tf_line=$((_tf_line + 1)) ;;
                single:*) _tf_value=$_tf_value$_tf_c ;;
                double:\") _tf_state=pre_value ;;
                double:\\) _tf_state=double_escape ;;
                double:nl) _tf_value="$_tf_value
" _tf_line=$((_tf_line + 1)) ;;
                double:*) _tf_value=$_tf_value$_tf_c ;;
                double_escape:nl) _tf_state=double _tf_line=$((_tf_line + 1)) ;;
                double_escape:[\"\\\`\$]) _tf_state=double _tf_value=$_tf_value$_tf_c ;;
                double_escape:*) _tf_state=double _tf_value=$_tf_value\\$_tf_c ;;
                comment:\\) _tf_state=comment_escape ;;
                comment:nl) _tf_state=pre_key _tf_line=$((_tf_line + 1)) ;;
                comment:*) ;;
                comment_escape:nl)
                    # Before systemd 254, a backslash at the end of a comment made the next line
                    # part of the comment too.
                    if [ "$_tf_systemd" -lt 254 ]; then _tf_state=comment; else _tf_state=pre_key; fi
                    _tf_line=$((_tf_line + 1)) ;;
                comment_escape:*) _tf_state=comment ;;
            esac
            [ "$_tf_c" = nl ] && break
        done
    done <"$1"
    case "$_tf_state" in
        pre_value | value | value_escape | single | double | double_escape) env_file_set ;;
    esac
    return 0
}

# env_file_set exports $_tf_key=$_tf_value (trailing blanks of an unquoted value dropped), or warns
# about a key that is not a variable name.
env_file_set() {
    case "$_tf_key" in
        [A-Za-z_]*) case "$_tf_key" in *[!A-Za-z0-9_]*) _tf_bad=yes ;; *) _tf_bad='' ;; esac ;;
        *) _tf_bad=yes ;;
    esac
    if [ -n "$_tf_bad" ]; then
        echo "teamsface: $_tf_file line $_tf_line: not a variable name before the =; skipped, as systemd does" >&2
    else
        export "$_tf_key=$_tf_value"
    fi
    _tf_key='' _tf_value='' _tf_ws=''
    return 0
}

# Looked up before an env file could set PATH (systemd does not use it to find programs either).
timeout_cmd=$(command -v timeout)
runuser_cmd=$(command -v runuser)

# holds_state DIR says whether the state in DIR may still remember a DND, a Teams session or a
# redirect teamsface set: no when there is no state.json, or one whose users are {} (what a complete
# release leaves) and no pending journal; yes for anything else, a format unknown here included.
holds_state() {
    [ -s "$1/journal" ] && return 0
    [ -f "$1/state.json" ] || return 1
    ! grep -q '"users":{}' "$1/state.json"
}

# release CONFIG STATE_DIR: one configuration's release, as the teamsface user, with the variables
# of the env file beside the configuration (read here as root, as systemd reads it for the unit).
release() {
    config=$1 state=$2 env=$(dirname "$1")/env
    if [ ! -f "$config" ]; then
        holds_state "$state" || return 0
        failed "$config" "$state" "the file is gone"
        return 0
    fi
    echo "teamsface: releasing every DND, Teams session and redirect teamsface set for $config"
    code=0
    (
        # The command is fixed before the file's variables could change the script's.
        set -- "$timeout_cmd" 120 "$runuser_cmd" -u teamsface -- /usr/bin/teamsface release \
            --config "$config" --state-dir "$state"
        load_env_file "$env" || exit 2
        exec "$@"
    ) || code=$?
    if [ "$code" = 0 ]; then
        # A mark an earlier removal left is out of date now.
        rm -f "$state/RELEASE-FAILED"
        return 0
    fi
    case "$code" in
        2) why="a configuration error" ;;
        3) why="some users, or writes of an earlier run, could not be released" ;;
        4) why="sign-in or a permission failed" ;;
        5) why="another teamsface still holds the state lock" ;;
        124) why="it took longer than 120 s" ;;
        *) why="exit $code" ;;
    esac
    if ! holds_state "$state"; then
        echo "teamsface: the release for $config failed ($why), but $state remembers no DND, Teams session or redirect teamsface set: nothing is left on." >&2
        rm -f "$state/RELEASE-FAILED"
        return 0
    fi
    failed "$config" "$state" "$why"
    return 0
}

# failed CONFIG STATE_DIR WHY says that the release failed, and marks the state so that
# postremove's purge keeps it; a later successful release (the next removal's) deletes the mark.
failed() {
    echo "teamsface: the release for $1 failed ($3); the package is removed all the same." >&2
    echo "  Phones teamsface switched to DND may still be on it, Teams sessions it set may still show," >&2
    echo "  redirects it switched on for out of office may still send calls to voicemail." >&2
    echo "  $2 (what teamsface remembers of them) and $(dirname "$1") are kept, also on purge." >&2
    echo "  Once the cause is fixed: install teamsface again and remove it again, which releases again." >&2
    printf 'the release for %s failed before teamsface was removed: %s\n' "$1" "$3" >"$2/RELEASE-FAILED" 2>/dev/null || true
}

release /etc/teamsface/mapping.yaml /var/lib/teamsface
for config in /etc/teamsface/*/mapping.yaml; do
    [ -f "$config" ] || continue
    name=$(basename "$(dirname "$config")")
    release "$config" "/var/lib/teamsface/$name"
done
# An instance's state whose configuration is gone: marked when it still remembers something.
for state in /var/lib/teamsface/*/state.json; do
    [ -f "$state" ] || continue
    name=$(basename "$(dirname "$state")")
    [ -f "/etc/teamsface/$name/mapping.yaml" ] || release "/etc/teamsface/$name/mapping.yaml" "/var/lib/teamsface/$name"
done
exit 0
