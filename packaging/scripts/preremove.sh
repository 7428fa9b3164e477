#!/bin/sh
# Runs before the package's files are removed (deb: prerm remove|upgrade|...; rpm: %preun 0|1).
# On an uninstall (not an upgrade) it stops teamsface and gives every phone back: `teamsface
# release` switches off each DND teamsface switched on, clears each Teams session it set and
# forgets them, for the main configuration and each teamsface@NAME instance. A release that
# fails (PBX unreachable, no release command in this version) is reported and does not stop the
# removal: the state stays in /var/lib/teamsface, and the command can be run again by hand.

case "$1" in
    remove|0) ;;
    *) exit 0 ;; # upgrade, deconfigure, failed-upgrade: teamsface stays installed
esac

if [ -d /run/systemd/system ]; then
    systemctl disable --now teamsface.service teamsface.timer teamsface-once.service >/dev/null 2>&1 || true
    systemctl stop 'teamsface@*.service' >/dev/null 2>&1 || true
fi

# release CONFIG STATE_DIR: one configuration's release, as the teamsface user, with the secrets
# of its env file (read here as root, like systemd does).
release() {
    config=$1 state=$2 env=$(dirname "$1")/env
    [ -f "$config" ] || return 0
    echo "teamsface: releasing every DND and Teams session teamsface set for $config"
    if (
        if [ -f "$env" ]; then set -a; . "$env"; set +a; fi
        timeout 120 runuser -u teamsface -- /usr/bin/teamsface release \
            --config "$config" --state-dir "$state"
    ); then
        return 0
    fi
    echo "teamsface: the release for $config failed; the package is removed all the same." >&2
    echo "  Phones teamsface switched to DND may still be on it. The state is kept in $state" >&2
    echo "  (also on purge): reinstall and run \"teamsface release --config $config --state-dir $state\"." >&2
    # postremove's purge keeps a state directory with this mark: it is all that knows those phones.
    touch "$state/RELEASE-FAILED" 2>/dev/null || true
    return 0
}

release /etc/teamsface/mapping.yaml /var/lib/teamsface
for config in /etc/teamsface/*/mapping.yaml; do
    [ -f "$config" ] || continue
    name=$(basename "$(dirname "$config")")
    release "$config" "/var/lib/teamsface/$name"
done
exit 0
