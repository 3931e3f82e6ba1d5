//go:build !windows

package main

import (
	"os/exec"
	"runtime"
)

// systemLauncher: outside Windows a double-clicked program gets no
// terminal and no arguments are rare enough to mean "show the usage";
// the node is started with 'baluchon serve' or as a service.
var systemLauncher = launcher{
	doubleClicked: func() bool { return false },
	openBrowser: func(url string) error {
		name := "xdg-open"
		if runtime.GOOS == "darwin" {
			name = "open"
		}
		return exec.Command(name, url).Start()
	},
}
