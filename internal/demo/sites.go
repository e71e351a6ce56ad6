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

// servicectl is the service-control stand-in every demo site carries in
// bin/, once under each name in controls: the name it is called by says
// which application it controls.
//
//go:embed servicectl.sh
var servicectl []byte

// controls are the names servicectl is installed under.
var controls = []string{"financectl", "printctl", "postgresctl", "dnsctl"}

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
	Server *sshserver.Server // nil while the site is down

	dir    string        // the demo directory (keys)
	client ssh.PublicKey // the key umzug logs in with
	addr   string        // where the server listened before Down
}

// Env is a running pair of demo data centers.
type Env struct {
	Dir string
	// Source and Target are the two sites in the plan's direction.
	Source, Target *Site
	// Paderborn and Lemgo name the finance demo's sites (Source, Target).
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
	// dataRel is the copy set's root below each site.
	dataRel   string
	clientKey ssh.PublicKey
	// Excluded are the source paths (relative to the data root) that the
	// plan's excludes leave behind, for tree comparison.
	Excluded []string
	// Hosts are the finance application's further hosts (database, file
	// share, name server): their own SSH servers, each serving its data
	// center's directory, by plan host name.
	Hosts map[string]*Site
}

// SourceData and TargetData are the copy set's roots on the two sites.
func (e *Env) SourceData() string { return filepath.Join(e.Source.Root, e.dataRel) }
func (e *Env) TargetData() string { return filepath.Join(e.Target.Root, e.dataRel) }

// Setup creates the demo directory, keys, sample data and both SSH servers
// of the finance move.
func Setup(o Options) (*Env, error) {
	e, err := setupSites(o, "finance.hcl", examples.Finance,
		siteSpec{"paderborn", o.PaderbornAddr, "Paderborn SSH"}, siteSpec{"lemgo", o.LemgoAddr, "Lemgo SSH"})
	if err != nil {
		return nil, err
	}
	e.Paderborn, e.Lemgo = e.Source, e.Target
	e.dataRel = "srv/finance/data"
	if e.Data, err = GenerateFinanceShare(e.SourceData(), o.Seed, o.Scale); err != nil {
		e.Close()
		return nil, fmt.Errorf("generate demo data: %w", err)
	}
	e.Excluded = []string{"cache"}
	for k := 0; k < 5; k++ {
		e.Excluded = append(e.Excluded, fmt.Sprintf("ledger/2025/12/upload-%d.tmp", k))
	}
	// The application runs on the source; the target has only the parent.
	if err := os.WriteFile(filepath.Join(e.Source.Root, "run/finance.state"), []byte("running\n"), 0o644); err != nil {
		e.Close()
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(e.Target.Root, "srv/finance"), 0o755); err != nil {
		e.Close()
		return nil, err
	}
	e.Vars = map[string]string{
		"demo_dir":          e.Dir,
		"paderborn_address": e.Source.Server.Addr(),
		"lemgo_address":     e.Target.Server.Addr(),
	}
	if err := e.startFinanceHosts(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// siteSpec names one demo data center and where its SSH server listens.
type siteSpec struct{ name, addr, what string }

// setupSites locks and prepares the demo directory, writes the client key,
// starts the two sites' SSH servers, their known_hosts and the plan copy.
// The caller adds the sample data.
func setupSites(o Options, planName string, plan []byte, source, target siteSpec) (*Env, error) {
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
	for _, s := range []siteSpec{source, target} {
		if err := CheckListen(s.what, s.addr); err != nil {
			release()
			return nil, err
		}
	}
	if err := prepareDir(dir); err != nil {
		release()
		return nil, err
	}
	e := &Env{Dir: dir, release: release}
	if err := e.startSites(source, target); err != nil {
		e.Close()
		return nil, err
	}
	e.PlanFile = filepath.Join(dir, planName)
	if err := os.WriteFile(e.PlanFile, plan, 0o644); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// startSites writes the client key, starts both sites and their
// known_hosts file.
func (e *Env) startSites(source, target siteSpec) error {
	keys := filepath.Join(e.Dir, "keys")
	client, err := sshserver.WriteKeyPair(filepath.Join(keys, "umzug_ed25519"))
	if err != nil {
		return fmt.Errorf("demo client key: %w", err)
	}
	e.clientKey = client.PublicKey()
	var lines []string
	for _, s := range []struct {
		spec siteSpec
		site **Site
	}{{source, &e.Source}, {target, &e.Target}} {
		site, err := startSite(e.Dir, s.spec.name, s.spec.addr, e.clientKey)
		if err != nil {
			return err
		}
		*s.site = site
		lines = append(lines, site.Server.KnownHostsLine())
	}
	return sshserver.WriteKnownHosts(filepath.Join(keys, "known_hosts"), lines...)
}

func startSite(dir, name, addr string, client ssh.PublicKey) (*Site, error) {
	root := filepath.Join(dir, name)
	for _, d := range []string{"bin", "run", "srv"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := installControls(root); err != nil {
		return nil, err
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	site := &Site{Name: name, Root: root, dir: dir, client: client}
	if err := site.listen(addr); err != nil {
		return nil, err
	}
	return site, nil
}

// listen starts the site's SSH server on addr with the site's host key.
func (s *Site) listen(addr string) error {
	hostKey, err := sshserver.LoadOrCreateHostKey(filepath.Join(s.dir, "keys", s.Name+"_host_ed25519"))
	if err != nil {
		return fmt.Errorf("%s host key: %w", s.Name, err)
	}
	srv, err := sshserver.Start(sshserver.Options{
		Addr: addr, HostKey: hostKey, AuthorizedKeys: []ssh.PublicKey{s.client}, Dir: s.Root,
	})
	if err != nil {
		return fmt.Errorf("start demo data center %s on %s: %w (another demo running? pick other ports)", s.Name, addr, err)
	}
	s.Server = srv
	return nil
}

// Down stops the site's SSH server, as if the data center were lost.
func (s *Site) Down() {
	if s.Server != nil {
		s.addr = s.Server.Addr()
		s.Server.Close()
		s.Server = nil
	}
}

// Up starts the site's SSH server again on its old address with its old
// host key, as if the data center were restored.
func (s *Site) Up() error {
	if s.Server != nil {
		return nil
	}
	return s.listen(s.addr)
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
	for _, s := range []*Site{e.Source, e.Target} {
		if s != nil && s.Server != nil {
			s.Server.Close()
		}
	}
	for _, s := range e.Hosts {
		if s.Server != nil {
			s.Server.Close()
		}
	}
	if e.release != nil {
		e.release()
		e.release = nil
	}
}

// installControls writes servicectl into root/bin under every name in
// controls.
func installControls(root string) error {
	for _, file := range controls {
		if err := os.WriteFile(filepath.Join(root, "bin", file), servicectl, 0o755); err != nil {
			return err
		}
	}
	return nil
}
