#!/bin/sh
# After the .deb is removed, even purged: the node's folder
# /var/lib/baluchon and the account stay. They hold people's papers and the
# structure's keys; only the volunteer deletes them, by hand, after a backup.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
