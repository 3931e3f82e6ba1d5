package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baluchon/node"
)

// TestNoArgsFromTerminal: without arguments, from a terminal, the usage.
func TestNoArgsFromTerminal(t *testing.T) {
	l := launcher{
		doubleClicked: func() bool { return false },
		openBrowser:   func(string) error { t.Error("a browser was opened"); return nil },
	}
	var stdout, stderr bytes.Buffer
	if code := runWith(l, nil, strings.NewReader(""), &stdout, &stderr); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "Usage: baluchon COMMAND") {
		t.Errorf("no usage on stderr: %q", stderr.String())
	}
}

// TestDoubleClick: started by a double click (no arguments, no terminal),
// the program runs the node on the default home and opens the browser on
// its web page, which shows the structure's setup; the log goes to
// HOME/logs too.
func TestDoubleClick(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	t.Setenv("BALUCHON_HOME", home)
	off := false
	// Loopback only, no mDNS, for the test (a volunteer's first start
	// gets the defaults).
	if err := node.Init(home, node.InitOptions{Config: &node.Config{Listen: []string{"/ip4/127.0.0.1/tcp/0"}, MDNS: &off}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var opened string
	page := make(chan string, 1)
	l := launcher{
		doubleClicked: func() bool { return true },
		openBrowser: func(url string) error {
			opened = url
			defer cancel() // the user closes the window
			r, err := http.Get(url)
			if err != nil {
				return err
			}
			defer r.Body.Close()
			b, _ := io.ReadAll(r.Body)
			page <- r.Request.URL.Path + "\n" + string(b)
			return nil
		},
	}
	var window bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &window, ctx: ctx}
	done := make(chan error, 1)
	go func() { done <- startByDoubleClick(e, l) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("start: %v\n%s", err, window.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the node did not start and stop within 60 s:\n%s", window.String())
	}
	if !strings.HasPrefix(opened, "http://127.0.0.1:") {
		t.Fatalf("browser opened on %q", opened)
	}
	got := <-page
	if !strings.HasPrefix(got, "/setup\n") || !strings.Contains(got, `name="structure"`) {
		t.Errorf("the page opened is not the setup:\n%.300s", got)
	}
	log, err := os.ReadFile(filepath.Join(home, "logs", "baluchon.log"))
	if err != nil || !strings.Contains(string(log), "web page on "+opened) {
		t.Errorf("HOME/logs/baluchon.log: %v\n%s", err, log)
	}
}
