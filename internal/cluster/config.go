package cluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"text/template"
)

// Services are the four server roles, each run as its own process.
var Services = []string{"frontend", "history", "matching", "worker"}

// ports are the loopback ports of one cluster.
type ports struct {
	Postgres, FrontendHTTP int
	GRPC, Membership       map[string]int
}

func freePorts() (ports, error) {
	var p ports
	take := func() (int, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free loopback port: %w", err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	p.GRPC, p.Membership = map[string]int{}, map[string]int{}
	seen := map[int]bool{}
	next := func() (int, error) {
		for {
			n, err := take()
			if err != nil || !seen[n] {
				seen[n] = true
				return n, err
			}
		}
	}
	// The server stores membership ports as a PostgreSQL smallint, so
	// they must stay below 32768, under Linux's ephemeral range.
	low := func() (int, error) {
		for i := 0; i < 1000; i++ {
			n := 20000 + rand.IntN(12000)
			if seen[n] {
				continue
			}
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(n))
			if err != nil {
				continue
			}
			l.Close()
			seen[n] = true
			return n, nil
		}
		return 0, fmt.Errorf("no free loopback port in 20000-32000 for membership")
	}
	var err error
	if p.Postgres, err = next(); err != nil {
		return p, err
	}
	if p.FrontendHTTP, err = next(); err != nil {
		return p, err
	}
	for _, s := range Services {
		if p.GRPC[s], err = next(); err != nil {
			return p, err
		}
		if p.Membership[s], err = low(); err != nil {
			return p, err
		}
	}
	return p, nil
}

// serverConfig is config/development-postgres12.yaml with loopback ports
// of its own, the private PostgreSQL as superuser, no metrics and no
// archival.
var serverConfig = template.Must(template.New("config").Parse(`log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: "postgres12"
        databaseName: "temporal"
        connectAddr: "127.0.0.1:{{.P.Postgres}}"
        connectProtocol: "tcp"
        user: "postgres"
        password: ""
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: "1h"
    postgres-visibility:
      sql:
        pluginName: "postgres12"
        databaseName: "temporal_visibility"
        connectAddr: "127.0.0.1:{{.P.Postgres}}"
        connectProtocol: "tcp"
        user: "postgres"
        password: ""
        maxConns: 4
        maxIdleConns: 4
        maxConnLifetime: "1h"
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
services:
{{- range .Services}}
  {{.}}:
    rpc:
      grpcPort: {{index $.P.GRPC .}}
      membershipPort: {{index $.P.Membership .}}
      bindOnLocalHost: true
{{- if eq . "frontend"}}
      httpPort: {{$.P.FrontendHTTP}}
{{- end}}
{{- end}}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:{{index .P.GRPC "frontend"}}"
dcRedirectionPolicy:
  policy: "noop"
dynamicConfigClient:
  filepath: "{{.Dynamic}}"
  pollInterval: "10s"
`))

// dynamicConfig lets search attributes registered by `umzug setup` be used
// at once (no cache delay) and keeps updates on.
const dynamicConfig = `limit.maxIDLength:
  - value: 255
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
frontend.enableUpdateWorkflowExecution:
  - value: true
history.hostLevelCacheMaxSize:
  - value: 8192
`

func writeConfig(dir string, p ports) (string, error) {
	dyn := filepath.Join(dir, "dynamicconfig.yaml")
	if err := os.WriteFile(dyn, []byte(dynamicConfig), 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "temporal.yaml")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := serverConfig.Execute(f, map[string]any{"P": p, "Services": Services, "Dynamic": dyn}); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
