package devserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// Options configures the embedded server.
type Options struct {
	// IP to bind every service to; defaults to 127.0.0.1.
	IP string
	// FrontendPort is the gRPC port clients and workers dial; 0 takes any
	// free port (see Server.Address).
	FrontendPort int
	// UIPort is the Web UI port; 0 disables the UI.
	UIPort int
	// DBFile is the SQLite file; empty means an in-memory database that is
	// gone when the process exits.
	DBFile string
	// Namespace is created if missing (default "default").
	Namespace string
	// SearchAttributes are registered on the namespace at creation.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives server logs; nil discards them.
	Logger log.Logger
	// TLS, when set, makes the frontend serve TLS (mTLS with a client CA).
	TLS *TLSOptions

	// beforeBind runs after the ports are chosen, before the server binds
	// them (tests take the port here to prove the retry).
	beforeBind func(frontendPort int)
	// uiHold keeps the UI port bound until the UI starts.
	uiHold net.Listener
}

// Server is a running embedded Temporal server and UI.
type Server struct {
	opts   Options
	server temporal.Server
	ui     *uiserver.Server
	tls    *tlsState
}

// ClientTLS is the TLS configuration for clients in this process (the
// in-process worker), or nil when the frontend serves plain gRPC.
func (s *Server) ClientTLS() (*tls.Config, error) {
	if s.tls == nil {
		return nil, nil
	}
	return s.tls.clientTLS()
}

// Address is the frontend host:port for SDK clients.
func (s *Server) Address() string {
	return net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.FrontendPort))
}

// UIURL is the Web UI base URL, or "" when the UI is disabled.
func (s *Server) UIURL() string {
	if s.ui == nil {
		return ""
	}
	return "http://" + net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.UIPort))
}

// Namespace is the namespace the server was started with.
func (s *Server) Namespace() string { return s.opts.Namespace }

// startTries bounds the starts with fresh ports when a port chosen free
// was taken before the server bound it.
const startTries = 5

// Start builds and starts the server, then the UI. It returns once the
// frontend accepts connections. A FrontendPort of 0 takes any free port
// (Address reports it); a bind that fails because another process took a
// chosen port in the meantime starts again with fresh ports.
func Start(opts Options) (*Server, error) {
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNoopLogger()
	}
	if opts.FrontendPort != 0 {
		if err := portFree(opts.IP, opts.FrontendPort); err != nil {
			return nil, fmt.Errorf("temporal frontend port: %w (another Temporal server running? use --port)", err)
		}
	}
	if opts.UIPort != 0 {
		// Held until the UI binds it: the Temporal services pick free
		// ports meanwhile and must not pick this one, and the UI server
		// exits the process when its port is taken.
		hold, err := net.Listen("tcp", net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort)))
		if err != nil {
			return nil, fmt.Errorf("web UI port: %w (use --ui-port)", err)
		}
		opts.uiHold = hold
		defer hold.Close()
	}
	var err error
	for range startTries {
		var s *Server
		if s, err = startOnce(opts); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			return s, err
		}
	}
	return nil, fmt.Errorf("start temporal server on %s: ports taken by other processes %d times in a row: %w", opts.IP, startTries, err)
}

// startOnce starts the server on the ports it chooses now.
func startOnce(opts Options) (s *Server, err error) {
	if opts.FrontendPort == 0 {
		if opts.FrontendPort, err = freePort(opts.IP); err != nil {
			return nil, err
		}
	}
	conf, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	if opts.beforeBind != nil {
		opts.beforeBind(opts.FrontendPort)
	}
	var tlsSt *tlsState
	if opts.TLS != nil {
		if tlsSt, err = loadTLS(opts.TLS, opts.IP); err != nil {
			return nil, err
		}
		tlsSt.apply(conf, opts.TLS)
	}
	srv, err := newTemporal(opts, conf)
	if err != nil {
		return nil, err
	}
	s = &Server{opts: opts, server: srv, tls: tlsSt}
	if opts.UIPort != 0 {
		if err := s.startUI(); err != nil {
			srv.Stop()
			return nil, err
		}
	}
	return s, nil
}

// newTemporal builds and starts the Temporal services on conf; a listener
// the server cannot bind comes back as an error.
func newTemporal(opts Options, conf *config.Config) (srv temporal.Server, err error) {
	defer recoverFatal(&err)
	logger := fatalPanics{opts.Logger}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporal authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("temporal claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range map[primitives.ServiceName]string{
		primitives.FrontendService: "frontend",
		primitives.HistoryService:  "history",
		primitives.MatchingService: "matching",
		primitives.WorkerService:   "worker",
	} {
		hosts[name] = static.SingleLocalHost(net.JoinHostPort(opts.IP, strconv.Itoa(conf.Services[svc].RPC.GRPCPort)))
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
	}
	srv, err = temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("build temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	return srv, nil
}

// startUI starts the Web UI against the frontend, over TLS when the
// frontend serves it.
func (s *Server) startUI() error {
	uiConf := &uiconfig.Config{
		Host:                s.opts.IP,
		Port:                s.opts.UIPort,
		TemporalGRPCAddress: s.Address(),
		EnableUI:            true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true, // no internet; do not try.
	}
	if s.tls != nil {
		uiConf.TLS = s.tls.uiTLS()
	}
	s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(uiConf))
	if s.opts.uiHold != nil {
		s.opts.uiHold.Close()
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ui.Start() }()
	// The UI's Start blocks; give it a moment to fail on a bad port.
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("start web UI on port %d: %w", s.opts.UIPort, err)
		}
	case <-time.After(200 * time.Millisecond):
	}
	return nil
}

// Stop shuts the UI and the server down.
func (s *Server) Stop() {
	if s.ui != nil {
		s.ui.Stop()
	}
	s.server.Stop()
}

func buildConfig(opts Options) (*config.Config, error) {
	sqlConf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if opts.DBFile == "" {
		sqlConf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		sqlConf.DatabaseName = "umzug" + strconv.Itoa(rand.IntN(1<<30))
	} else {
		abs, err := filepath.Abs(opts.DBFile)
		if err != nil {
			return nil, fmt.Errorf("database file %q: %w", opts.DBFile, err)
		}
		sqlConf.ConnectAttributes = map[string]string{"mode": "rwc"}
		sqlConf.DatabaseName = abs
		if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(filepath.Dir(abs)); err != nil {
				return nil, fmt.Errorf("database directory for %q: %w", opts.DBFile, err)
			}
			if err := sqliteschema.SetupSchema(sqlConf); err != nil {
				return nil, fmt.Errorf("create temporal schema in %q: %w", opts.DBFile, err)
			}
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig("active", opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace %q: %w", opts.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		if strings.Contains(err.Error(), "database is locked") {
			return nil, fmt.Errorf("database %s is in use by another process (another `umzug dev` on it?): %w", sqlConf.DatabaseName, err)
		}
		return nil, fmt.Errorf("create namespace %q: %w", opts.Namespace, err)
	}

	httpPort, err := freePort(opts.IP)
	if err != nil {
		return nil, err
	}
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = opts.IP
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlConf}}
	frontendAddr := net.JoinHostPort(opts.IP, strconv.Itoa(opts.FrontendPort))
	conf.ClusterMetadata = clusterMetadata(frontendAddr, net.JoinHostPort(opts.IP, strconv.Itoa(httpPort)))
	conf.DCRedirectionPolicy.Policy = "noop"
	if conf.Services, err = services(opts, httpPort); err != nil {
		return nil, err
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontendAddr
	return &conf, nil
}

// clusterMetadata describes the single cluster "active".
func clusterMetadata(frontendAddr, httpAddr string) *cluster.Config {
	return &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        "active",
		CurrentClusterName:       "active",
		ClusterInformation: map[string]cluster.ClusterInformation{
			"active": {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontendAddr,
				HTTPAddress:            httpAddr,
				ClusterID:              "umzug-dev",
			},
		},
	}
}

// services binds the frontend to the chosen ports and the other three
// services to free ones.
func services(opts Options, httpPort int) (map[string]config.Service, error) {
	out := map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = opts.IP
		if name == "frontend" {
			svc.RPC.GRPCPort = opts.FrontendPort
			svc.RPC.HTTPPort = httpPort
		} else {
			p, err := freePort(opts.IP)
			if err != nil {
				return nil, err
			}
			svc.RPC.GRPCPort = p
		}
		out[name] = svc
	}
	return out, nil
}

// FreePort returns a port on ip that was free a moment ago, for tests
// and for callers that want the embedded server on any port.
func FreePort(ip string) (int, error) { return freePort(ip) }

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}
