package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// postgres is a private PostgreSQL instance on a loopback port. PostgreSQL
// refuses to run as root, so as root it runs as the postgres user.
type postgres struct {
	bin  string // directory of initdb and pg_ctl
	dir  string // data, socket and log, owned by the server's user
	port int
	cred *syscall.Credential
}

// pgBinDir finds Debian's versioned PostgreSQL binaries, or initdb on PATH.
func pgBinDir() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	sort.Strings(matches)
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL not found (no /usr/lib/postgresql/*/bin/pg_ctl, no pg_ctl on PATH); install it with `apt-get install -y postgresql`")
}

func newPostgres(port int) (*postgres, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "umzug-pg-")
	if err != nil {
		return nil, err
	}
	pg := &postgres{bin: bin, dir: dir, port: port}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user (apt-get install -y postgresql creates it): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	return pg, nil
}

func (pg *postgres) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(pg.bin, name), args...)
	cmd.Dir = pg.dir
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func (pg *postgres) data() string { return filepath.Join(pg.dir, "data") }

// init creates the database cluster: trust on loopback, no password.
func (pg *postgres) init(ctx context.Context) error {
	return pg.run(ctx, "initdb", "-D", pg.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
}

// start serves on 127.0.0.1:port only; fsync is off because a test
// cluster survives process kills (the page cache keeps the WAL), not
// machine crashes.
func (pg *postgres) start(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", pg.port, pg.dir)
	return pg.run(ctx, "pg_ctl", "start", "-w", "-t", "120", "-D", pg.data(), "-l", filepath.Join(pg.dir, "postgres.log"), "-o", opts)
}

// stop shuts down with mode fast (clean) or immediate (as a crash).
func (pg *postgres) stop(ctx context.Context, mode string) error {
	return pg.run(ctx, "pg_ctl", "stop", "-w", "-t", "120", "-D", pg.data(), "-m", mode)
}

func (pg *postgres) remove() { _ = os.RemoveAll(pg.dir) }
