#!/bin/sh
# Runs after the files are gone (deb: postrm remove|purge|upgrade|...; rpm: %postun 0|1).
# The teamsface user stays (its files may remain elsewhere); deb's purge removes the state, unless
# a release failed.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = purge ]; then
    # Kept when a release failed (preremove marked it): the state is what knows which phones
    # teamsface left on DND.
    if [ -n "$(find /var/lib/teamsface -name RELEASE-FAILED 2>/dev/null)" ]; then
        echo "teamsface: keeping /var/lib/teamsface: a release failed, and its state knows which phones are still on DND." >&2
    else
        rm -rf /var/lib/teamsface
    fi
fi
exit 0
