package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
)

const defaultServiceUser = "baluchon"

// ensureServiceUser creates the system account the service runs as, when
// missing (as the .deb's postinstall does), and gives it the home.
func ensureServiceUser(name, home string) error {
	u, err := user.Lookup(name)
	if err != nil {
		nologin := "/usr/sbin/nologin"
		if _, err := os.Stat(nologin); err != nil {
			nologin = "/bin/false"
		}
		out, err := exec.Command("useradd", "--system", "--user-group", "--home-dir", home, "--no-create-home", "--shell", nologin, name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("create the system account %s: %v: %s", name, err, out)
		}
		if u, err = user.Lookup(name); err != nil {
			return fmt.Errorf("find the account %s just created: %w", name, err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.WalkDir(home, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
