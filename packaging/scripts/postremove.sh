#!/bin/sh
# Runs after the files are gone (deb: postrm remove|purge|upgrade|...; rpm: %postun 0|1).
# The teamsface user stays (files of it may remain elsewhere). deb's purge deletes the state,
# unless a release failed (preremove marked it). /etc/teamsface holds what the admin put there,
# the secrets included: it stays, and the removal says so.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi

# release_failed prints what preremove's marks say, indented, and fails when there are none.
release_failed() {
    [ -n "$(find /var/lib/teamsface -maxdepth 2 -name RELEASE-FAILED 2>/dev/null)" ] || return 1
    find /var/lib/teamsface -maxdepth 2 -name RELEASE-FAILED -exec sed 's/^/  /' {} + 2>/dev/null
}

case "$1" in
    purge | 0) ;;
    *) exit 0 ;; # deb remove keeps the state and the configuration, as it keeps every package's
esac
if failed=$(release_failed); then
    # The state is all that knows which DNDs teamsface switched on and which Teams sessions it
    # set, and the configuration is what a release needs.
    echo "teamsface: keeping /var/lib/teamsface and /etc/teamsface: a release failed before the removal:" >&2
    echo "$failed" >&2
    echo "  Phones teamsface switched to DND may still be on it. Once the cause is fixed, install" >&2
    echo "  teamsface again and remove it again: the removal releases them, then a purge deletes the state." >&2
    exit 0
fi
if [ "$1" = purge ]; then
    rm -rf /var/lib/teamsface
elif [ -d /var/lib/teamsface ]; then
    # rpm has no purge.
    echo "teamsface: kept /var/lib/teamsface (the state, nothing left to release): delete it if you like." >&2
fi
if [ -d /etc/teamsface ] && [ -n "$(ls -A /etc/teamsface 2>/dev/null)" ]; then
    echo "teamsface: kept /etc/teamsface: your configuration and secrets are in it, which the package did" >&2
    echo "  not create. Delete it when you no longer need them: rm -r /etc/teamsface" >&2
fi
exit 0
