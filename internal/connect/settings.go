package connect

import (
	"fmt"
	"strconv"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
)

// Defaults when neither flag, variable nor profile names a value.
const (
	DefaultAddress   = "127.0.0.1:7233"
	DefaultNamespace = "default"
)

// Settings are the connection flags of one command line. Empty strings
// and an unset --tls leave the environment's and the profile's values.
type Settings struct {
	Address       string
	Namespace     string
	Profile       string
	ConfigFile    string
	APIKey        string
	TLS           optionalBool
	TLSCertPath   string
	TLSKeyPath    string
	TLSCAPath     string
	TLSServerName string
	// Env replaces the process environment (tests); nil reads os.
	Env envconfig.EnvLookup
}

// Register adds the connection flags to fs, named as the Temporal CLI
// names them, each with the variable it overrides.
func Register(fs *pflag.FlagSet, s *Settings) {
	fs.StringVar(&s.Address, "address", "", "Temporal frontend host:port (env TEMPORAL_ADDRESS, default "+DefaultAddress+")")
	fs.StringVar(&s.Namespace, "namespace", "", "Temporal namespace (env TEMPORAL_NAMESPACE, default "+DefaultNamespace+")")
	fs.StringVar(&s.Profile, "profile", "", "profile in the client config file (env TEMPORAL_PROFILE, default \"default\")")
	fs.StringVar(&s.ConfigFile, "config-file", "", "client config file (env TEMPORAL_CONFIG_FILE, default ~/.config/temporalio/temporal.toml)")
	fs.StringVar(&s.APIKey, "api-key", "", "API key, sent as a bearer token; implies TLS (env TEMPORAL_API_KEY)")
	fs.Var(&s.TLS, "tls", "connect with TLS (env TEMPORAL_TLS)")
	fs.Lookup("tls").NoOptDefVal = "true"
	fs.StringVar(&s.TLSCertPath, "tls-cert-path", "", "client certificate for mTLS (env TEMPORAL_TLS_CLIENT_CERT_PATH)")
	fs.StringVar(&s.TLSKeyPath, "tls-key-path", "", "client private key for mTLS (env TEMPORAL_TLS_CLIENT_KEY_PATH)")
	fs.StringVar(&s.TLSCAPath, "tls-ca-path", "", "CA certificate that signed the server's (env TEMPORAL_TLS_SERVER_CA_CERT_PATH)")
	fs.StringVar(&s.TLSServerName, "tls-server-name", "", "name to verify in the server's certificate (env TEMPORAL_TLS_SERVER_NAME)")
}

// Resolve merges profile file, environment and flags into one profile.
func (s *Settings) Resolve() (envconfig.ClientConfigProfile, error) {
	p, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
		ConfigFilePath:    s.ConfigFile,
		ConfigFileProfile: s.Profile,
		EnvLookup:         s.Env,
	})
	if err != nil {
		return p, fmt.Errorf("read Temporal client configuration (profile %q, file %q): %w", s.Profile, s.ConfigFile, err)
	}
	s.applyFlags(&p)
	if p.Address == "" {
		p.Address = DefaultAddress
	}
	if p.Namespace == "" {
		p.Namespace = DefaultNamespace
	}
	return p, nil
}

func (s *Settings) applyFlags(p *envconfig.ClientConfigProfile) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&p.Address, s.Address)
	set(&p.Namespace, s.Namespace)
	set(&p.APIKey, s.APIKey)
	if s.TLS.set || s.TLSCertPath != "" || s.TLSKeyPath != "" || s.TLSCAPath != "" || s.TLSServerName != "" {
		if p.TLS == nil {
			p.TLS = &envconfig.ClientConfigTLS{}
		}
		if s.TLS.set {
			p.TLS.Disabled = !s.TLS.value
		}
		set(&p.TLS.ClientCertPath, s.TLSCertPath)
		set(&p.TLS.ClientKeyPath, s.TLSKeyPath)
		set(&p.TLS.ServerCACertPath, s.TLSCAPath)
		set(&p.TLS.ServerName, s.TLSServerName)
	}
}

// ClientOptions are the SDK options for the resolved profile.
func (s *Settings) ClientOptions() (client.Options, error) {
	p, err := s.Resolve()
	if err != nil {
		return client.Options{}, err
	}
	o, err := p.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return o, fmt.Errorf("Temporal client configuration for %s: %w", p.Address, err)
	}
	return o, nil
}

// UsesTLS reports whether options o dial with TLS.
func UsesTLS(o client.Options) bool {
	return o.ConnectionOptions.TLS != nil && !o.ConnectionOptions.TLSDisabled
}

// HasClientCert reports whether o presents a client certificate.
func HasClientCert(o client.Options) bool {
	t := o.ConnectionOptions.TLS
	return t != nil && (len(t.Certificates) > 0 || t.GetClientCertificate != nil)
}

// optionalBool is a bool flag that remembers whether it was given.
type optionalBool struct {
	value, set bool
}

func (b *optionalBool) String() string   { return strconv.FormatBool(b.value) }
func (b *optionalBool) Type() string     { return "bool" }
func (b *optionalBool) IsBoolFlag() bool { return true }
func (b *optionalBool) Set(v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return err
	}
	b.value, b.set = x, true
	return nil
}
