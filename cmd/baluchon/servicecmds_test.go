package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestServiceHome(t *testing.T) {
	env := map[string]string{"ProgramData": `D:\ProgramData`}
	for _, tc := range []struct{ goos, want string }{
		{"linux", "/var/lib/baluchon"},
		{"windows", `D:\ProgramData\baluchon`},
		{"darwin", "/Library/Application Support/baluchon"},
	} {
		if got := serviceHome(tc.goos, func(k string) string { return env[k] }); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.goos, got, tc.want)
		}
	}
}

// TestServiceInstallSystemd installs the node as a systemd service (under
// a test name), sees it run and answer, and uninstalls it. It needs root
// and a running systemd.
func TestServiceInstallSystemd(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the systemd test runs on Linux only")
	}
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		comm, _ := os.ReadFile("/proc/1/comm")
		t.Skipf("systemd is not the init system here (PID 1 is %s): 'service install' is not tested", strings.TrimSpace(string(comm)))
	}
	if os.Getuid() != 0 {
		t.Skip("installing a system service needs root: 'service install' is not tested")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "baluchon")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	home := filepath.Join(dir, "home")
	name := fmt.Sprintf("baluchon-test-%d", os.Getpid())
	baluchon := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	if out, err := baluchon("init", "--home", home, "--listen", "/ip4/127.0.0.1/tcp/0"); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if out, err := baluchon("service", "install", "--home", home, "--name", name, "--user", "root", "--ui", "off"); err != nil {
		t.Fatalf("service install: %v\n%s", err, out)
	}
	t.Cleanup(func() { baluchon("service", "uninstall", "--home", home, "--name", name) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, _ := baluchon("service", "status", "--home", home, "--name", name)
		out, err := baluchon("id", "--home", home)
		if strings.TrimSpace(st) == "running" && err == nil && strings.HasPrefix(out, "12D3KooW") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service did not run and answer within 60 s: status %q, id: %v %s", st, err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if out, err := baluchon("service", "uninstall", "--home", home, "--name", name); err != nil {
		t.Fatalf("service uninstall: %v\n%s", err, out)
	}
	if st, _ := baluchon("service", "status", "--home", home, "--name", name); strings.TrimSpace(st) != "not installed" {
		t.Errorf("after uninstall: status %q", st)
	}
	if _, err := os.Stat(filepath.Join(home, "config.json")); err != nil {
		t.Errorf("uninstall removed the node's folder: %v", err)
	}
}
