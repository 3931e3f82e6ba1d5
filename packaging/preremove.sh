#!/bin/sh
# Before the .deb is removed: stop the node. (An upgrade only restarts it,
# in postinstall.)
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl stop baluchon.service || true
	systemctl disable baluchon.service || true
fi
