package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"baluchon/api"
	"baluchon/web"
)

// launcher is how the program was started, and how it opens a page: the
// real ones in noargs_windows.go and noargs_other.go, fakes in tests.
type launcher struct {
	// doubleClicked reports whether the program was started without a
	// terminal of its own (on Windows: from the Explorer, which made a
	// console for this process alone).
	doubleClicked func() bool
	// openBrowser opens url in the user's browser.
	openBrowser func(url string) error
}

// startByDoubleClick is what the program does when started without
// arguments and without a terminal: run the node on the default home, log
// to HOME/logs as well as to the window, and open the browser on its web
// page, where the first visit sets the structure up (its name, the admin
// account). Closing the window stops the node.
func startByDoubleClick(e *env, l launcher) error {
	home, err := resolveHome("")
	if err != nil {
		return err
	}
	// Already running (a second double click): open its page.
	if _, err := api.Dial(home); err == nil {
		if b, err := os.ReadFile(filepath.Join(home, web.AddrFile)); err == nil {
			return l.openBrowser(strings.TrimSpace(string(b)))
		}
	}
	urls := make(chan string, 1)
	window := e.stderr
	e.stderr = io.MultiWriter(window, &pageWatcher{found: urls}) // serve also logs to HOME/logs
	fmt.Fprintln(window, "baluchon starts; its web page opens in the browser. Close this window to stop the node.")
	done := make(chan error, 1)
	go func() { done <- cmdServe(e, []string{"--home", home}) }()
	select {
	case url := <-urls:
		if err := l.openBrowser(url); err != nil {
			fmt.Fprintf(window, "could not open the browser (%v): open %s in it\n", err, url)
		}
		return <-done
	case err := <-done:
		return err
	}
}

// pageWatcher finds the page's address in what serve writes ("web page on
// URL") and sends it once.
type pageWatcher struct {
	mu    sync.Mutex
	buf   []byte
	sent  bool
	found chan<- string
}

func (w *pageWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if url, ok := strings.CutPrefix(line, "web page on "); ok {
			w.found <- strings.TrimSpace(url)
			w.sent, w.buf = true, nil
			break
		}
	}
	if len(w.buf) > 4096 {
		w.buf = nil
	}
	return len(p), nil
}
