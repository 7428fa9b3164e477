#!/bin/sh
# Runs before the package's files are unpacked (deb: preinst install|upgrade; rpm: %pre 1|2):
# the files name the teamsface user and group as owners, so they must exist first.
set -e

if ! getent group teamsface >/dev/null 2>&1; then
    groupadd --system teamsface
fi
if ! getent passwd teamsface >/dev/null 2>&1; then
    nologin=/usr/sbin/nologin
    [ -x "$nologin" ] || nologin=/sbin/nologin
    useradd --system --gid teamsface --home-dir /var/lib/teamsface --no-create-home \
        --shell "$nologin" --comment "teamsface, Teams presence and STARFACE DND" teamsface
fi
exit 0
