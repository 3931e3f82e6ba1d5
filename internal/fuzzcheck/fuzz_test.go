// Package fuzzcheck runs every fuzz target of the module for a few seconds,
// so that the plain test command ("go test ./...") also fuzzes each decoder
// of untrusted bytes, not only replays its seed corpus.
package fuzzcheck

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzTime is how much each target runs: a count of executions, not a
// duration, because Go 1.26's fuzz coordinator can fail a duration-bound
// run with a spurious "context deadline exceeded" when the machine is
// loaded (go.dev/issue/75804, fixed in Go 1.27). BALUCHON_FUZZTIME
// overrides it ("30s" or "100000x").
const fuzzTime = "5000x"

func TestFuzzTargetsBriefly(t *testing.T) {
	if testing.Short() {
		t.Skip("fuzzing skipped in -short mode")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: cannot run the fuzz targets")
	}
	touchSources(t)
	ft := fuzzTime
	if v := os.Getenv("BALUCHON_FUZZTIME"); v != "" {
		ft = v
	}
	list := exec.Command(gobin, "test", "-list", "^Fuzz", "baluchon/...")
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("list fuzz targets: %v\n%s", err, out)
	}
	// Output: target names, then "ok  <package> …" for each package.
	var targets []string
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "Fuzz"):
			targets = append(targets, line)
		case strings.HasPrefix(line, "ok"):
			fields := strings.Fields(line)
			for _, tg := range targets {
				pkg, target := fields[1], tg
				n++
				t.Run(pkg+"/"+target, func(t *testing.T) {
					start := time.Now()
					cmd := exec.Command(gobin, "test", "-run=^$", "-fuzz=^"+target+"$", "-fuzztime="+ft, "-parallel=2", pkg)
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("%s failed after %s: %v\n%s", target, time.Since(start).Round(time.Second), err, out)
					}
				})
			}
			targets = nil
		}
	}
	if n < 6 {
		t.Fatalf("found %d fuzz targets, want at least 6 (card text, envelope, manifest, head, pointer, wire messages)", n)
	}
}

// touchSources reads every Go file of the module, so that "go test"
// caches this test's result only as long as no source changes (the fuzz
// runs happen in child processes, which its cache does not see).
func touchSources(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || filepath.Base(path) == "go.mod") {
			_, err = os.ReadFile(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
