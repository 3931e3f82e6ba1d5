// Package packaging holds what turns the baluchon command into something a
// volunteer installs: the systemd unit and the .deb's scripts, used by
// .goreleaser.yaml (nfpm). Its test builds the .deb from that file with the
// nfpm library and checks what it installs.
package packaging
