package main

import (
	"os/exec"

	"golang.org/x/sys/windows"
)

var getConsoleProcessList = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetConsoleProcessList")

// systemLauncher: a program started from the Explorer (a double click) is
// alone in the console Windows made for it; started from cmd or
// PowerShell, it shares theirs.
var systemLauncher = launcher{
	doubleClicked: func() bool {
		var pids [2]uint32
		n, _, _ := getConsoleProcessList.Call(uintptrOf(&pids[0]), 2)
		return n == 1
	},
	openBrowser: func(url string) error {
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", url).Start()
	},
}
