package realsshd

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
)

// CIUser is the unprivileged account the interop and chaos lanes log in
// as; .ci/run creates it, and EnsureUser does when the tests run as root.
const CIUser = "umzugci"

// EnsureUser makes sure account name exists and may log in with a key:
// its password is "*" (no password login, yet not locked; sshd refuses a
// locked account even for keys). Creating or unlocking it needs root.
func EnsureUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		if os.Geteuid() != 0 {
			return 0, 0, fmt.Errorf("user %s is missing and only root can create it (useradd -m -p '*' %s): %w", name, name, err)
		}
		if out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", "-p", "*", name).CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("useradd %s: %v: %s", name, err, out)
		}
		if u, err = user.Lookup(name); err != nil {
			return 0, 0, err
		}
	} else if os.Geteuid() == 0 {
		if out, err := exec.Command("usermod", "-p", "*", name).CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("usermod -p '*' %s: %v: %s", name, err, out)
		}
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}
