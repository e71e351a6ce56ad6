package testkit

import (
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/internal/sshserver"
)

// Hosts is a set of SSH servers of type S that accept one client key,
// and a known_hosts file that pins their host keys.
type Hosts[S any] struct {
	Servers    []S    // in the order of their options
	Key        string // the client's private key file
	KnownHosts string // a line for every server
}

// SSH is a set of in-process SSH servers.
type SSH struct {
	Hosts[*sshserver.Server]
	Signer ssh.Signer // the client key, as Key holds it
}

// StartSSH writes a client key pair to dir/id_ed25519, starts a server
// for each of opts with that key authorized besides opts' own, and writes
// dir/known_hosts. The servers close when the test ends.
func StartSSH(t testing.TB, dir string, opts ...sshserver.Options) *SSH {
	t.Helper()
	key := filepath.Join(dir, "id_ed25519")
	signer, err := sshserver.WriteKeyPair(key)
	if err != nil {
		t.Fatalf("write the client key pair: %v", err)
	}
	s := &SSH{Hosts: Hosts[*sshserver.Server]{Key: key, KnownHosts: filepath.Join(dir, "known_hosts")}, Signer: signer}
	var lines []string
	for _, o := range opts {
		o.AuthorizedKeys = append(slices.Clip(o.AuthorizedKeys), signer.PublicKey())
		srv, err := sshserver.Start(o)
		if err != nil {
			t.Fatalf("start an in-process SSH server: %v", err)
		}
		t.Cleanup(func() { srv.Close() })
		s.Servers = append(s.Servers, srv)
		lines = append(lines, srv.KnownHostsLine())
	}
	if err := sshserver.WriteKnownHosts(s.KnownHosts, lines...); err != nil {
		t.Fatalf("write known_hosts: %v", err)
	}
	return s
}
