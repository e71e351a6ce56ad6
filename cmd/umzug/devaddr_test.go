package main

import (
	"strings"
	"testing"
)

// devAddress is the frontend address `umzug dev --port 0` printed: the
// server chose and bound its port itself, so no other process could take
// it between a test choosing a port and the server binding it.
func devAddress(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "Temporal server: ")
	addr, _, _ := strings.Cut(rest, " ")
	if !ok || !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("umzug dev printed no bound frontend address:\n%s", out)
	}
	return addr
}
