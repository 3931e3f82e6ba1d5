#!/bin/sh
# After the .deb is unpacked (install and upgrade): the node runs as its
# own system account, baluchon, whose home is the node's folder.
set -e
home=/var/lib/baluchon
if ! getent passwd baluchon >/dev/null; then
	useradd --system --user-group --home-dir "$home" --no-create-home \
		--shell /usr/sbin/nologin --comment "baluchon node" baluchon
fi
install -d -m 0700 -o baluchon -g baluchon "$home"
# A folder restored or copied by hand as root: give it back to the node.
chown -R baluchon:baluchon "$home"
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	systemctl enable baluchon.service
	# On an upgrade, the new version starts now (and upgrades the folder).
	systemctl restart baluchon.service
fi
