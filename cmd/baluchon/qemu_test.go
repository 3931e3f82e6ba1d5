package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestLinuxARM64UnderQEMU builds the linux/arm64 binary (a Raspberry Pi's,
// without cgo) and runs it under qemu-user: 'version', then a node started
// on a fresh home that answers 'id'.
func TestLinuxARM64UnderQEMU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("qemu-user runs linux binaries on linux only")
	}
	qemu, err := exec.LookPath("qemu-aarch64")
	if err != nil {
		t.Skip("qemu-aarch64 is not installed (Debian package qemu-user): the linux/arm64 binary is built by .ci/run but not run")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: cannot build the linux/arm64 binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "baluchon")
	build := exec.Command(gobin, "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build linux/arm64: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	arm := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, qemu, append([]string{bin}, args...)...)
		cmd.Env = append(os.Environ(), "BALUCHON_HOME="+filepath.Join(dir, "home"))
		return cmd
	}
	out, err := arm("version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "linux/arm64") {
		t.Fatalf("version under qemu: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if out, err := arm("init", "--listen", "/ip4/127.0.0.1/tcp/0").CombinedOutput(); err != nil {
		t.Fatalf("init under qemu: %v\n%s", err, out)
	}
	serve := arm("serve", "--ui", "off", "--mdns=false")
	var serveOut bytes.Buffer
	serve.Stdout, serve.Stderr = &serveOut, &serveOut
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		serve.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { serve.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			serve.Process.Kill()
			<-done
		}
		if !strings.Contains(serveOut.String(), "stopped") {
			t.Errorf("the arm64 node did not stop cleanly:\n%s", serveOut.String())
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := arm("id").CombinedOutput()
		if err == nil && strings.HasPrefix(string(out), "12D3KooW") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the arm64 node did not answer 'id' within 60 s: %v\n%s\nserve:\n%s", err, out, serveOut.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}
