package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Options configure Start.
type Options struct {
	// Dir holds the configuration and the service logs; a temporary
	// directory when empty (removed by Stop).
	Dir string
	// Log, when set, receives progress lines.
	Log func(format string, args ...any)
}

// Cluster is a running PostgreSQL-backed Temporal cluster on loopback.
type Cluster struct {
	dir    string
	ownDir bool
	bins   Binaries
	config string
	ports  ports
	pg     *postgres
	log    func(string, ...any)

	mu    sync.Mutex
	procs map[string]*proc // running services and workers by name
}

// Start brings up PostgreSQL, sets up both schemas with the server's SQL
// tool and starts the four services. The namespace is not registered:
// `umzug setup` does that, as on a cluster umzug has not used yet.
func Start(ctx context.Context, o Options) (c *Cluster, err error) {
	c = &Cluster{dir: o.Dir, log: o.Log, procs: map[string]*proc{}}
	if c.log == nil {
		c.log = func(string, ...any) {}
	}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "umzug-cluster-"); err != nil {
			return nil, err
		}
		c.ownDir = true
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if c.bins, err = EnsureBinaries(ctx); err != nil {
		return c, err
	}
	if c.ports, err = freePorts(); err != nil {
		return c, err
	}
	if c.config, err = writeConfig(c.dir, c.ports); err != nil {
		return c, err
	}
	if c.pg, err = newPostgres(c.ports.Postgres); err != nil {
		return c, err
	}
	c.log("postgres: initdb and start on 127.0.0.1:%d", c.ports.Postgres)
	if err = c.pg.init(ctx); err != nil {
		return c, err
	}
	if err = c.pg.start(ctx); err != nil {
		return c, err
	}
	if err = c.setupSchema(ctx); err != nil {
		return c, err
	}
	// The first service initialises the cluster metadata; services that
	// start together race for it and lose, so the frontend goes first.
	if err = c.StartService("frontend"); err != nil {
		return c, err
	}
	if err = c.awaitListen(ctx, "frontend", c.Address()); err != nil {
		return c, err
	}
	for _, s := range Services[1:] {
		if err = c.StartService(s); err != nil {
			return c, err
		}
	}
	c.log("frontend on %s", c.Address())
	return c, nil
}

// awaitListen waits until addr accepts connections or the process ends.
func (c *Cluster) awaitListen(ctx context.Context, name, addr string) error {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return nil
		}
		for _, n := range c.Exited() {
			if n == name {
				return fmt.Errorf("%s exited before listening on %s; see %s", name, addr, filepath.Join(c.dir, name+".log"))
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not listen on %s within 3 minutes; see %s", name, addr, filepath.Join(c.dir, name+".log"))
}

// Address is the frontend's gRPC address (TEMPORAL_ADDRESS).
func (c *Cluster) Address() string {
	return "127.0.0.1:" + strconv.Itoa(c.ports.GRPC["frontend"])
}

// Dir is where the configuration and the logs are.
func (c *Cluster) Dir() string { return c.dir }

// setupSchema creates both databases and brings them to the newest schema
// version shipped with the server, as an operator would.
func (c *Cluster) setupSchema(ctx context.Context) error {
	for db, schema := range map[string]string{"temporal": "temporal", "temporal_visibility": "visibility"} {
		base := []string{"--plugin", "postgres12", "--ep", "127.0.0.1", "-p", strconv.Itoa(c.ports.Postgres), "-u", "postgres", "--pw", "", "--db", db}
		steps := [][]string{
			{"create-database"},
			{"setup-schema", "-v", "0.0"},
			{"update-schema", "-d", filepath.Join(c.bins.Schema, schema, "versioned")},
		}
		for _, s := range steps {
			args := append(append([]string{}, base...), s...)
			out, err := exec.CommandContext(ctx, c.bins.SQLTool, args...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("temporal-sql-tool %s on %s: %w\n%s", s[0], db, err, out)
			}
		}
	}
	c.log("schema set up (temporal, temporal_visibility)")
	return nil
}

// StartService starts (or restarts after Kill) one of Services.
func (c *Cluster) StartService(name string) error {
	return c.spawn(name, c.bins.Server, []string{"--config-file", c.config, "--allow-no-auth", "start", "--service", name}, nil)
}

// StartProcess runs another process beside the cluster (an umzug worker),
// logged to Dir()/name.log and ended by Kill or Stop.
func (c *Cluster) StartProcess(name, bin string, args, env []string) error {
	return c.spawn(name, bin, args, env)
}

func (c *Cluster) spawn(name, bin string, args, env []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, running := c.procs[name]; running {
		return fmt.Errorf("%s is already running", name)
	}
	logf, err := os.OpenFile(filepath.Join(c.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	c.procs[name] = p
	return nil
}

// proc is a started process; done closes when it has exited.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Kill ends a service or process with SIGKILL, as a crash would.
func (c *Cluster) Kill(name string) error {
	c.mu.Lock()
	p, ok := c.procs[name]
	delete(c.procs, name)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%s is not running", name)
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return nil
}

// RestartPostgres stops the database as a crash would (mode immediate)
// and starts it again after down.
func (c *Cluster) RestartPostgres(ctx context.Context, down time.Duration) error {
	if err := c.pg.stop(ctx, "immediate"); err != nil {
		return err
	}
	time.Sleep(down)
	return c.pg.start(ctx)
}

// Stop ends every process, the database, and removes what Start created.
func (c *Cluster) Stop() {
	c.mu.Lock()
	names := make([]string, 0, len(c.procs))
	for n := range c.procs {
		names = append(names, n)
	}
	c.mu.Unlock()
	for _, n := range names {
		_ = c.Kill(n)
	}
	if c.pg != nil {
		_ = c.pg.stop(context.Background(), "fast")
		c.pg.remove()
	}
	if c.ownDir && os.Getenv("UMZUG_CLUSTER_KEEP") == "" {
		_ = os.RemoveAll(c.dir)
	}
}

// Exited names the started processes that have ended on their own (a
// service that failed to start, a crashed worker).
func (c *Cluster) Exited() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for n, p := range c.procs {
		select {
		case <-p.done:
			out = append(out, n)
		default:
		}
	}
	return out
}
