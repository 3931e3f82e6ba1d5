package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"baluchon/api"
	"baluchon/testnet"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"baluchon": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script: each drives the real
// baluchon command, with nodes on loopback in the script's own folder.
func TestScripts(t *testing.T) {
	ageDir := buildAge(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", ageDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("BALUCHON_HOME", filepath.Join(env.WorkDir, "default-home"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitnode":       cmdWaitNode,
			"nodeaddr":       cmdNodeAddr,
			"scanhome":       cmdScanHome,
			"stdoutvar":      cmdStdoutVar,
			"mkfile":         cmdMkfile,
			"typo":           cmdTypo,
			"flipbyte":       cmdFlipByte,
			"eventually":     cmdEventually,
			"stderrvar":      cmdStderrVar,
			"eventuallyfail": cmdEventuallyFail,
		},
		RequireExplicitExec: true,
	})
}

// buildAge builds the upstream age command (a tool of this module) so that
// scripts can check that a --raw document is a standard age file.
func buildAge(t *testing.T) string {
	dir := t.TempDir()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: cannot build the upstream age tool the scripts use")
	}
	cmd := exec.Command(gobin, "build", "-o", filepath.Join(dir, "age"), "filippo.io/age/cmd/age")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build age: %v\n%s", err, out)
	}
	return dir
}

// waitnode HOME: wait (30 s at most) until the node in HOME answers.
func cmdWaitNode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitnode HOME")
	}
	home := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		c, err := api.Dial(home)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err = c.ID(ctx)
			cancel()
			if err == nil {
				return
			}
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("node in %s did not start within 30 s: %v", home, last)
}

// nodeaddr HOME VAR: set VAR to the node's TCP address on 127.0.0.1.
func cmdNodeAddr(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: nodeaddr HOME VAR")
	}
	c, err := api.Dial(ts.MkAbs(args[0]))
	ts.Check(err)
	info, err := c.ID(context.Background())
	ts.Check(err)
	for _, a := range info.Addrs {
		if strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") {
			ts.Setenv(args[1], a)
			return
		}
	}
	ts.Fatalf("node %s has no TCP address on 127.0.0.1: %v", args[0], info.Addrs)
}

// scanhome HOME FILE...: no file under HOME contains the content of any
// FILE (each at least 8 bytes, trailing newline dropped).
func cmdScanHome(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: scanhome HOME FILE...")
	}
	needles := map[string][]byte{}
	for _, f := range args[1:] {
		needles[f] = []byte(strings.TrimSuffix(ts.ReadFile(f), "\n"))
	}
	found, err := testnet.Scan(ts.MkAbs(args[0]), needles)
	ts.Check(err)
	for what, files := range found {
		ts.Fatalf("%s holds the content of %s in %v", args[0], what, files)
	}
}

// stdoutvar VAR: set VAR to the first line of the last command's standard
// output.
func cmdStdoutVar(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stdoutvar VAR")
	}
	line, _, _ := strings.Cut(ts.ReadFile("stdout"), "\n")
	ts.Setenv(args[0], strings.TrimSpace(line))
}

// mkfile NAME SIZE: write SIZE random bytes to NAME.
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkfile NAME SIZE")
	}
	var size int
	_, err := fmt.Sscan(args[1], &size)
	ts.Check(err)
	b := make([]byte, size)
	_, err = rand.Read(b)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o600))
}

// typo CARD OUT N: write to OUT the card text of CARD with its N-th card
// character (dashes not counted) replaced by another valid one.
func cmdTypo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: typo CARD OUT N")
	}
	var n int
	_, err := fmt.Sscan(args[2], &n)
	ts.Check(err)
	text := []byte(strings.TrimSpace(ts.ReadFile(args[0])))
	seen := 0
	for i, c := range text {
		if c == '-' {
			continue
		}
		seen++
		if seen == n {
			if c == 'z' {
				text[i] = 'y'
			} else {
				text[i] = 'z'
			}
			ts.Check(os.WriteFile(ts.MkAbs(args[1]), append(text, '\n'), 0o600))
			return
		}
	}
	ts.Fatalf("card has fewer than %d characters", n)
}

// flipbyte IN OUT N: write to OUT a copy of IN with byte N flipped.
func cmdFlipByte(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: flipbyte IN OUT N")
	}
	var n int
	_, err := fmt.Sscan(args[2], &n)
	ts.Check(err)
	b := []byte(ts.ReadFile(args[0]))
	if n >= len(b) {
		ts.Fatalf("%s has only %d bytes", args[0], len(b))
	}
	b[n] ^= 0x01
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o600))
}

// eventually SECONDS REGEX PROGRAM ARGS...: run the program until it
// succeeds with a standard output matching REGEX, for up to SECONDS.
func cmdEventually(ts *testscript.TestScript, neg bool, args []string) {
	retry(ts, neg, args, "eventually", false)
}

// eventuallyfail SECONDS REGEX PROGRAM ARGS...: run the program until it
// fails with a standard error matching REGEX, for up to SECONDS (a change
// made at one node reaches another within seconds, not at once).
func cmdEventuallyFail(ts *testscript.TestScript, neg bool, args []string) {
	retry(ts, neg, args, "eventuallyfail", true)
}

// retry runs args[2:] every 200 ms, for up to args[0] seconds, until it
// succeeds with stdout matching args[1] (or, with wantFail, fails with
// stderr matching it).
func retry(ts *testscript.TestScript, neg bool, args []string, name string, wantFail bool) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: %s SECONDS REGEX PROGRAM ARGS...", name)
	}
	var secs int
	_, err := fmt.Sscan(args[0], &secs)
	ts.Check(err)
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	stream, outcome := "stdout", "succeed"
	if wantFail {
		stream, outcome = "stderr", "fail"
	}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	for {
		err := ts.Exec(args[2], args[3:]...)
		if (err != nil) == wantFail && re.MatchString(ts.ReadFile(stream)) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not %s with %s matching %q within %d s (last error: %v)", args[2], outcome, stream, args[1], secs, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stderrvar VAR REGEX: set VAR to the first group of REGEX in the last
// command's standard error.
func cmdStderrVar(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: stderrvar VAR REGEX")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	m := re.FindStringSubmatch(ts.ReadFile("stderr"))
	if len(m) < 2 {
		ts.Fatalf("no match for %q in stderr", args[1])
	}
	ts.Setenv(args[0], m[1])
}
