package main

import (
	"path/filepath"

	"gopkg.in/natefinch/lumberjack.v2"
)

// logDir is HOME/logs, where a node that runs without a terminal (as a
// service, or started by a double click) writes its log.
const logDir = "logs"

// openLog opens HOME/logs/baluchon.log, rotated by size: a volunteer can
// read it, or send it, without the disk filling up. Logs never hold a
// card, a document, a title or a name (the node never logs them).
func openLog(home string) *lumberjack.Logger {
	return &lumberjack.Logger{
		Filename:   filepath.Join(home, logDir, "baluchon.log"),
		MaxSize:    10, // megabytes
		MaxBackups: 5,
		MaxAge:     90, // days
		Compress:   true,
	}
}
