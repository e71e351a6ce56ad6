package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ServerVersion is the Temporal server the tools module pins; binaries are
// cached per version.
const ServerVersion = "v1.32.1"

// Binaries are the server and SQL tool built from the tools module.
type Binaries struct {
	Server  string // temporal-server
	SQLTool string // temporal-sql-tool
	Schema  string // schema/postgresql/v12 in the server module
}

// CacheDir is where built binaries are kept: UMZUG_CLUSTER_CACHE, or
// $HOME/.cache/umzug-cluster/<version>.
func CacheDir() string {
	if d := os.Getenv("UMZUG_CLUSTER_CACHE"); d != "" {
		return filepath.Join(d, ServerVersion)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "umzug-cluster", ServerVersion)
}

// EnsureBinaries builds the server and the SQL tool once per version and
// finds the PostgreSQL schema in the module cache.
func EnsureBinaries(ctx context.Context) (Binaries, error) {
	mod, err := toolsModule()
	if err != nil {
		return Binaries{}, err
	}
	dir := CacheDir()
	b := Binaries{Server: filepath.Join(dir, "temporal-server"), SQLTool: filepath.Join(dir, "temporal-sql-tool")}
	for bin, pkg := range map[string]string{b.Server: "go.temporal.io/server/cmd/server", b.SQLTool: "go.temporal.io/server/cmd/tools/sql"} {
		if _, err := os.Stat(bin); err == nil {
			continue
		}
		if err := goIn(ctx, mod, nil, "build", "-o", bin+".tmp", pkg); err != nil {
			return Binaries{}, fmt.Errorf("build %s for the test cluster: %w", pkg, err)
		}
		if err := os.Rename(bin+".tmp", bin); err != nil {
			return Binaries{}, fmt.Errorf("cache %s: %w", bin, err)
		}
	}
	var out strings.Builder
	if err := goIn(ctx, mod, &out, "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/server"); err != nil {
		return Binaries{}, fmt.Errorf("find the server module: %w", err)
	}
	b.Schema = filepath.Join(strings.TrimSpace(out.String()), "schema", "postgresql", "v12")
	return b, nil
}

func goIn(ctx context.Context, dir string, stdout *strings.Builder, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false", "GOWORK=off")
	var errOut strings.Builder
	cmd.Stdout, cmd.Stderr = stdout, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), dir, err, errOut.String())
	}
	return nil
}

// toolsModule finds tools/temporal-cluster from the working directory up.
func toolsModule() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "tools", "temporal-cluster")
		if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("tools/temporal-cluster/go.mod not found above the working directory; run from the umzug repository")
		}
		dir = parent
	}
}
