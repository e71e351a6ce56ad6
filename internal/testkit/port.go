package testkit

import (
	"net"
	"testing"
)

// FreePort returns a loopback port that was free a moment ago. Another
// process may take it before it is bound, so use it only where a port
// must be named before anything binds it (a child process's flag); where
// the code under test can bind port 0 and report the port, do that.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port on 127.0.0.1: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
