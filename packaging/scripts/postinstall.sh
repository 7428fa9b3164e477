#!/bin/sh
# Runs after the files are in place (deb: postinst configure [OLD-VERSION]; rpm: %post 1|2).
# It never enables or starts teamsface: that needs a configuration first (see the README).
set -e

# The directories may have existed before the package; give them the modes it documents.
chown root:teamsface /etc/teamsface && chmod 0750 /etc/teamsface
chown teamsface:teamsface /var/lib/teamsface && chmod 0700 /var/lib/teamsface

if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    # On an upgrade, running services pick up the new binary.
    upgrade=no
    case "$1" in
        configure) [ -n "$2" ] && upgrade=yes ;;
        2) upgrade=yes ;;
    esac
    if [ "$upgrade" = yes ]; then
        systemctl try-restart teamsface.service 'teamsface@*.service' >/dev/null 2>&1 || true
    fi
fi

if [ ! -e /etc/teamsface/mapping.yaml ]; then
    echo "teamsface: copy /usr/share/teamsface/mapping.example.yaml to /etc/teamsface/mapping.yaml"
    echo "  (install -m 0640 -g teamsface ...), fill it in, check it with \"teamsface mapping check\","
    echo "  then: systemctl enable --now teamsface.service"
fi
exit 0
