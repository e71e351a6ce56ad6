package demo

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDir takes an exclusive lock beside dir (dir + ".lock"), so a second
// demo on the same directory fails before it touches the running demo's
// files. The lock is held until release; the kernel drops it when the
// process dies, so a crashed demo never blocks the next one.
func lockDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("demo directory %s: %w", dir, err)
	}
	name := dir + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("demo lock %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(name)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(holder))
			return nil, fmt.Errorf("another umzug demo (pid %s) is using %s; stop it first, or run this one with --dir and other ports", pid, dir)
		}
		return nil, fmt.Errorf("demo lock %s: %w", name, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}

// CheckListen fails when an address cannot be listened on, naming what the
// address is for; callers run it before they change any file.
func CheckListen(what, addr string) error {
	if addr == "" || strings.HasSuffix(addr, ":0") {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s address %s is in use (another umzug demo or dev server running?): %w; stop it or choose other ports", what, addr, err)
	}
	return l.Close()
}
