#!/bin/sh
# Runs after the files are gone (deb: postrm remove|purge|upgrade|...; rpm: %postun 0|1).
# The teamsface user stays (its files may remain elsewhere); deb's purge removes the state.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = purge ]; then
    rm -rf /var/lib/teamsface
fi
exit 0
