package sshserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// GenerateEd25519 returns a new Ed25519 key as a signer and as an OpenSSH
// private key file ("-----BEGIN OPENSSH PRIVATE KEY-----").
func GenerateEd25519() (ssh.Signer, []byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "umzug")
	if err != nil {
		return nil, nil, fmt.Errorf("marshal ed25519 private key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("ed25519 signer: %w", err)
	}
	return signer, pem.EncodeToMemory(block), nil
}

// WriteKeyPair generates an Ed25519 key and writes it like ssh-keygen does:
// the private key to path (mode 0600) and the public key to path+".pub".
func WriteKeyPair(path string) (ssh.Signer, error) {
	signer, privPEM, err := GenerateEd25519()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create directory for key %s: %w", path, err)
	}
	if err := os.WriteFile(path, privPEM, 0o600); err != nil {
		return nil, fmt.Errorf("write private key %s: %w", path, err)
	}
	pub := ssh.MarshalAuthorizedKey(signer.PublicKey())
	if err := os.WriteFile(path+".pub", pub, 0o644); err != nil {
		return nil, fmt.Errorf("write public key %s.pub: %w", path, err)
	}
	return signer, nil
}

// LoadOrCreateHostKey reads an OpenSSH private key from path, or creates an
// Ed25519 key pair there when the file does not exist, so a demo keeps its
// host identity (and its known_hosts entries) across restarts.
func LoadOrCreateHostKey(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return WriteKeyPair(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read host key %s: %w", path, err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("parse host key %s: %w (delete the file to generate a new one)", path, err)
	}
	return signer, nil
}

// LoadAuthorizedKeys parses an authorized_keys file (or a single .pub file).
func LoadAuthorizedKeys(path string) ([]ssh.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read authorized keys %s: %w", path, err)
	}
	var keys []ssh.PublicKey
	for len(strings.TrimSpace(string(data))) > 0 {
		k, _, _, rest, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			return nil, fmt.Errorf("parse authorized keys %s: %w", path, err)
		}
		keys = append(keys, k)
		data = rest
	}
	return keys, nil
}

// AppendKnownHosts appends one known_hosts line (see Server.KnownHostsLine)
// to path, creating the file (0600) and its directory if needed.
func AppendKnownHosts(path, line string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create directory for known_hosts %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open known_hosts %s: %w", path, err)
	}
	if _, err := f.WriteString(strings.TrimRight(line, "\n") + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("append to known_hosts %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close known_hosts %s: %w", path, err)
	}
	return nil
}

// WriteKnownHosts replaces path with exactly the given lines.
func WriteKnownHosts(path string, lines ...string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create directory for known_hosts %s: %w", path, err)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.TrimRight(l, "\n"))
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write known_hosts %s: %w", path, err)
	}
	return nil
}
