package main

import "testing"

// TestVersionLess: setup refuses servers older than minServer; development
// builds (no release number) pass.
func TestVersionLess(t *testing.T) {
	for v, want := range map[string]bool{
		"1.32.1": false, "v1.25.0": false, "1.24.9": true, "1.9.0": true, "2.0.0": false, "dev": false,
	} {
		if got := versionLess(v, minServer); got != want {
			t.Errorf("versionLess(%q, %q) = %v, want %v", v, minServer, got, want)
		}
	}
}
