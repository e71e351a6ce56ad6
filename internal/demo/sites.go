package demo

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/examples"
	"github.com/umzug-dev/umzug/internal/sshserver"
)

//go:embed financectl.sh
var financectl []byte

// marker marks a directory as the demo's own, so Setup may wipe it.
const marker = ".umzug-demo"

// Options say where the demo data centers live and listen.
type Options struct {
	// Dir holds both sites, the keys and the plan. Setup wipes it if it
	// holds a previous demo; it refuses a non-empty directory that does not.
	Dir string
	// PaderbornAddr and LemgoAddr are the SSH listen addresses
	// ("127.0.0.1:0" picks a free port).
	PaderbornAddr, LemgoAddr string
	// Scale multiplies the sample data (1 = about 2,600 files, ~60 MiB).
	Scale int
	// Seed makes the sample data reproducible.
	Seed uint64
}

// Site is one demo data center: an SSH/SFTP server on loopback serving
// the real filesystem, with the site's files under Root.
type Site struct {
	Name   string
	Root   string
	Server *sshserver.Server
}

// Env is a running pair of demo data centers.
type Env struct {
	Dir       string
	Paderborn *Site
	Lemgo     *Site
	// PlanFile is the demo plan (examples/finance.hcl) written into Dir.
	PlanFile string
	// Vars point the plan at this Env (demo_dir and the two addresses).
	Vars map[string]string
	// Data is what was generated on the source.
	Data DataStats
	// release drops the directory lock taken by Setup.
	release func()
	// Excluded are the source paths (relative to the data root) that the
	// plan's excludes leave behind, for tree comparison.
	Excluded []string
}

// SourceData and TargetData are the copy set's roots on the two sites.
func (e *Env) SourceData() string { return filepath.Join(e.Paderborn.Root, "srv/finance/data") }
func (e *Env) TargetData() string { return filepath.Join(e.Lemgo.Root, "srv/finance/data") }

// Setup creates the demo directory, keys, sample data and both SSH servers.
func Setup(o Options) (*Env, error) {
	if o.Dir == "" {
		return nil, errors.New("demo directory not set")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	// Fail on a busy lock or port before touching any file, so a second
	// demo never wipes a running one.
	release, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	for _, a := range []struct{ what, addr string }{{"Paderborn SSH", o.PaderbornAddr}, {"Lemgo SSH", o.LemgoAddr}} {
		if err := CheckListen(a.what, a.addr); err != nil {
			release()
			return nil, err
		}
	}
	if err := prepareDir(dir); err != nil {
		release()
		return nil, err
	}
	keys := filepath.Join(dir, "keys")
	client, err := sshserver.WriteKeyPair(filepath.Join(keys, "umzug_ed25519"))
	if err != nil {
		return nil, fmt.Errorf("demo client key: %w", err)
	}
	e := &Env{Dir: dir, release: release}
	var lines []string
	for _, s := range []struct {
		name, addr string
		site       **Site
	}{{"paderborn", o.PaderbornAddr, &e.Paderborn}, {"lemgo", o.LemgoAddr, &e.Lemgo}} {
		site, err := startSite(dir, s.name, s.addr, client.PublicKey())
		if err != nil {
			e.Close()
			return nil, err
		}
		*s.site = site
		lines = append(lines, site.Server.KnownHostsLine())
	}
	if err := sshserver.WriteKnownHosts(filepath.Join(keys, "known_hosts"), lines...); err != nil {
		e.Close()
		return nil, err
	}
	if e.Data, err = GenerateFinanceShare(e.SourceData(), o.Seed, o.Scale); err != nil {
		e.Close()
		return nil, fmt.Errorf("generate demo data: %w", err)
	}
	e.Excluded = []string{"cache"}
	for k := 0; k < 5; k++ {
		e.Excluded = append(e.Excluded, fmt.Sprintf("ledger/2025/12/upload-%d.tmp", k))
	}
	// The application runs on the source; the target has only the parent.
	if err := os.WriteFile(filepath.Join(e.Paderborn.Root, "run/finance.state"), []byte("running\n"), 0o644); err != nil {
		e.Close()
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(e.Lemgo.Root, "srv/finance"), 0o755); err != nil {
		e.Close()
		return nil, err
	}
	e.PlanFile = filepath.Join(dir, "finance.hcl")
	if err := os.WriteFile(e.PlanFile, examples.Finance, 0o644); err != nil {
		e.Close()
		return nil, err
	}
	e.Vars = map[string]string{
		"demo_dir":          dir,
		"paderborn_address": e.Paderborn.Server.Addr(),
		"lemgo_address":     e.Lemgo.Server.Addr(),
	}
	return e, nil
}

func startSite(dir, name, addr string, client ssh.PublicKey) (*Site, error) {
	root := filepath.Join(dir, name)
	for _, d := range []string{"bin", "run", "srv"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "bin/financectl"), financectl, 0o755); err != nil {
		return nil, err
	}
	hostKey, err := sshserver.LoadOrCreateHostKey(filepath.Join(dir, "keys", name+"_host_ed25519"))
	if err != nil {
		return nil, fmt.Errorf("%s host key: %w", name, err)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	srv, err := sshserver.Start(sshserver.Options{
		Addr: addr, HostKey: hostKey, AuthorizedKeys: []ssh.PublicKey{client}, Dir: root,
	})
	if err != nil {
		return nil, fmt.Errorf("start demo data center %s on %s: %w (another demo running? pick other ports)", name, addr, err)
	}
	return &Site{Name: name, Root: root, Server: srv}, nil
}

// prepareDir makes dir an empty demo directory. It removes only what a
// previous demo left (marked), never someone else's files.
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("demo directory %s: %w", dir, err)
	case len(entries) == 0:
	default:
		if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
			return fmt.Errorf("demo directory %s is not empty and was not made by umzug demo; choose another with --dir", dir)
		}
		if err := makeWritable(dir); err != nil {
			return err
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("clear previous demo in %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create demo directory %s: %w", dir, err)
	}
	return os.WriteFile(filepath.Join(dir, marker), []byte("made by umzug demo; removed by the next demo run\n"), 0o644)
}

// makeWritable lets RemoveAll delete the sample data's read-only dirs.
func makeWritable(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
}

// Close stops both servers and releases the directory; the files stay
// for inspection.
func (e *Env) Close() {
	for _, s := range []*Site{e.Paderborn, e.Lemgo} {
		if s != nil && s.Server != nil {
			s.Server.Close()
		}
	}
	if e.release != nil {
		e.release()
		e.release = nil
	}
}
