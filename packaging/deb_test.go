package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	"go.yaml.in/yaml/v3"
)

// goreleaserNFPM is an entry of .goreleaser.yaml's nfpms, the fields this
// project uses (decoding refuses any other, so that the test builds what
// goreleaser builds).
type goreleaserNFPM struct {
	ID          string         `yaml:"id"`
	PackageName string         `yaml:"package_name"`
	Formats     []string       `yaml:"formats"`
	Bindir      string         `yaml:"bindir"`
	Vendor      string         `yaml:"vendor"`
	Maintainer  string         `yaml:"maintainer"`
	Description string         `yaml:"description"`
	Section     string         `yaml:"section"`
	Priority    string         `yaml:"priority"`
	Contents    files.Contents `yaml:"contents"`
	Scripts     nfpm.Scripts   `yaml:"scripts"`
}

// readNFPM reads the .deb's entry from the repository's .goreleaser.yaml.
func readNFPM(t *testing.T) *goreleaserNFPM {
	t.Helper()
	b, err := os.ReadFile("../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var top struct {
		Version int       `yaml:"version"`
		NFPMs   yaml.Node `yaml:"nfpms"`
	}
	if err := yaml.Unmarshal(b, &top); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	if top.Version != 2 {
		t.Fatalf(".goreleaser.yaml: version %d, want 2", top.Version)
	}
	raw, err := yaml.Marshal(&top.NFPMs)
	if err != nil {
		t.Fatal(err)
	}
	var entries []*goreleaserNFPM
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&entries); err != nil {
		t.Fatalf(".goreleaser.yaml nfpms: %v", err)
	}
	if len(entries) != 1 || len(entries[0].Formats) != 1 || entries[0].Formats[0] != "deb" {
		t.Fatalf(".goreleaser.yaml: want one nfpms entry making a deb, got %+v", entries)
	}
	return entries[0]
}

// buildDeb builds the .deb of cfg around the binary bin, as goreleaser does.
func buildDeb(t *testing.T, cfg *goreleaserNFPM, bin, out string) {
	t.Helper()
	contents := files.Contents{{Source: bin, Destination: filepath.ToSlash(filepath.Join(cfg.Bindir, "baluchon")), FileInfo: &files.ContentFileInfo{Mode: 0o755}}}
	for _, c := range cfg.Contents {
		c := *c
		if c.Source != "" {
			c.Source = filepath.Join("..", c.Source)
		}
		contents = append(contents, &c)
	}
	scripts := cfg.Scripts
	for _, s := range []*string{&scripts.PreInstall, &scripts.PostInstall, &scripts.PreRemove, &scripts.PostRemove} {
		if *s != "" {
			*s = filepath.Join("..", *s)
		}
	}
	info := nfpm.WithDefaults(&nfpm.Info{
		Name:        cfg.PackageName,
		Arch:        runtime.GOARCH,
		Platform:    "linux",
		Version:     "1.0.0-test",
		Maintainer:  cfg.Maintainer,
		Description: cfg.Description,
		Vendor:      cfg.Vendor,
		Section:     cfg.Section,
		Priority:    cfg.Priority,
		Overridables: nfpm.Overridables{
			Contents: contents,
			Scripts:  scripts,
		},
	})
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		t.Fatalf("prepare the deb: %v", err)
	}
	if err := nfpm.Validate(info); err != nil {
		t.Fatalf("nfpm refuses the config: %v", err)
	}
	pkg, err := nfpm.Get("deb")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := pkg.Package(info, f); err != nil {
		t.Fatalf("build the deb: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDeb builds the .deb from .goreleaser.yaml, unpacks it into a
// throwaway root and checks what it installs: the binary, the systemd unit
// (its own account, the node's folder), the folder's mode, and the
// postinstall script that creates the account (run with stand-ins for
// useradd, install, chown and systemctl, which record their arguments).
func TestDeb(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the .deb is checked on Linux")
	}
	dpkgDeb, err := exec.LookPath("dpkg-deb")
	if err != nil {
		t.Skip("dpkg-deb is not installed (Debian package dpkg): the .deb is not checked")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: cannot build the binary to package")
	}
	cfg := readNFPM(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "baluchon")
	build := exec.Command(gobin, "build", "-trimpath", "-o", bin, "../cmd/baluchon")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	deb := filepath.Join(dir, "baluchon.deb")
	buildDeb(t, cfg, bin, deb)

	root := filepath.Join(dir, "root")
	for _, args := range [][]string{{"-x", deb, root}, {"-e", deb, filepath.Join(root, "DEBIAN")}} {
		if out, err := exec.Command(dpkgDeb, args...).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb %v: %v\n%s", args, err, out)
		}
	}
	info, err := exec.Command(dpkgDeb, "--field", deb, "Package", "Version", "Architecture").Output()
	if err != nil || !strings.Contains(string(info), "Package: baluchon") {
		t.Fatalf("dpkg-deb --field: %v\n%s", err, info)
	}

	// The binary, and the command line the unit runs.
	installed := filepath.Join(root, "usr/bin/baluchon")
	if st, err := os.Stat(installed); err != nil || st.Mode().Perm()&0o111 == 0 {
		t.Fatalf("usr/bin/baluchon: %v", err)
	}
	if out, err := exec.Command(installed, "service", "run", "--help").CombinedOutput(); err != nil {
		t.Errorf("the unit's command is not understood: %v\n%s", err, out)
	}

	unit := read(t, filepath.Join(root, "lib/systemd/system/baluchon.service"))
	for _, want := range []string{
		"\nUser=baluchon\n",
		"\nGroup=baluchon\n",
		"\nExecStart=/usr/bin/baluchon service run --home /var/lib/baluchon\n",
		"\nReadWritePaths=/var/lib/baluchon\n",
		"\nRestart=on-failure\n",
		"\nWantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit has no line %q:\n%s", strings.TrimSpace(want), unit)
		}
	}
	if st, err := os.Stat(filepath.Join(root, "var/lib/baluchon")); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Errorf("var/lib/baluchon: %v, %v; want a folder of mode 0700", st.Mode(), err)
	}

	// The postinstall script, on a machine without the account, then on
	// one with it (an upgrade).
	postinst := filepath.Join(root, "DEBIAN/postinst")
	if st, err := os.Stat(postinst); err != nil || st.Mode().Perm()&0o111 == 0 {
		t.Fatalf("DEBIAN/postinst: %v", err)
	}
	for _, tc := range []struct {
		name        string
		userExists  bool
		wantUseradd bool
	}{
		{"install", false, true},
		{"upgrade", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := runWithStandIns(t, postinst, tc.userExists, "configure")
			useradd := "useradd --system --user-group --home-dir /var/lib/baluchon --no-create-home --shell /usr/sbin/nologin --comment baluchon node baluchon"
			if got := strings.Contains(calls, useradd); got != tc.wantUseradd {
				t.Errorf("useradd called: %v, want %v; calls:\n%s", got, tc.wantUseradd, calls)
			}
			if !strings.Contains(calls, "install -d -m 0700 -o baluchon -g baluchon /var/lib/baluchon") {
				t.Errorf("the node's folder is not given to the account; calls:\n%s", calls)
			}
		})
	}
	// Removing the package never deletes the node's folder.
	for _, script := range []string{"prerm", "postrm"} {
		if s := read(t, filepath.Join(root, "DEBIAN", script)); strings.Contains(s, "rm -") || strings.Contains(s, "userdel") {
			t.Errorf("DEBIAN/%s deletes something:\n%s", script, s)
		}
	}
}

// runWithStandIns runs script with sh, PATH leading to stand-ins for the
// commands that would change the machine; it returns their calls.
func runWithStandIns(t *testing.T, script string, userExists bool, args ...string) string {
	t.Helper()
	shims := t.TempDir()
	log := filepath.Join(shims, "calls")
	getentExit := "2"
	if userExists {
		getentExit = "0"
	}
	for name, body := range map[string]string{
		"getent":    "exit " + getentExit,
		"useradd":   "",
		"install":   "",
		"chown":     "",
		"systemctl": "",
	} {
		sh := "#!/bin/sh\necho \"" + name + " $*\" >> " + log + "\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(shims, name), []byte(sh), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/bin/sh", append([]string{script}, args...)...)
	cmd.Env = []string{"PATH=" + shims + ":/usr/bin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(script), err, out)
	}
	b, _ := os.ReadFile(log)
	return string(b)
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
