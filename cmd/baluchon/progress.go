package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"baluchon/api"
	"baluchon/vault"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress is a byte progress bar on stderr, shown only when standard
// output is a terminal (a person watching), never in scripts or pipes.
type progress struct {
	bar *progressbar.ProgressBar
}

func newProgress(e *env, total int64, what string) *progress {
	if !isTerminal(e.stdout) || !isTerminal(e.stderr) {
		return &progress{}
	}
	if total <= 0 {
		total = -1 // unknown: a spinner
	}
	return &progress{bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// reader counts what is read through r.
func (p *progress) reader(r io.Reader) io.Reader {
	if p.bar == nil {
		return r
	}
	pr := progressbar.NewReader(r, p.bar)
	return &pr
}

func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// set moves the bar to done bytes.
func (p *progress) set(done int64) {
	if p.bar != nil {
		_ = p.bar.Set64(done)
	}
}

// syncFirst lets a person watch the first copy of a vault to this node: it
// opens the vault with a progress bar before the command itself runs. On
// a vault the node has already, or when no one watches, it does nothing
// visible.
func syncFirst(e *env, cl *api.Client, c *vault.Card) error {
	if !isTerminal(e.stdout) || !isTerminal(e.stderr) {
		return nil
	}
	var p *progress
	err := cl.Open(e.ctx, c, func(done, total uint64) {
		if p == nil {
			p = newProgress(e, int64(total), "first copy of the vault to this node")
		}
		p.set(int64(done))
	})
	if p != nil {
		p.done()
	}
	return err
}
