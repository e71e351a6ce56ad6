package connect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

type env map[string]string

func (e env) Environ() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}
func (e env) LookupEnv(k string) (string, bool) { v, ok := e[k]; return v, ok }

const profiles = `
[profile.default]
address = "file-default:7233"
namespace = "file-ns"

[profile.prod]
address = "prod.tmprl.cloud:7233"
namespace = "prod-ns"
api_key = "file-key"
`

// TestPrecedenceFlagsOverEnvOverProfile follows the Temporal CLI: a flag
// beats its variable, a variable beats the profile file.
func TestPrecedenceFlagsOverEnvOverProfile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal.toml")
	if err := os.WriteFile(file, []byte(profiles), 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(e env, args ...string) *Settings {
		s := &Settings{Env: e}
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		Register(fs, s)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name          string
		e             env
		args          []string
		addr, ns, key string
		tls           bool
	}{
		{"nothing", env{}, nil, DefaultAddress, DefaultNamespace, "", false},
		{"file default profile", env{"TEMPORAL_CONFIG_FILE": file}, nil, "file-default:7233", "file-ns", "", false},
		{"env profile", env{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "prod"}, nil, "prod.tmprl.cloud:7233", "prod-ns", "file-key", true},
		{"env over file", env{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "prod", "TEMPORAL_NAMESPACE": "env-ns"}, nil, "prod.tmprl.cloud:7233", "env-ns", "file-key", true},
		{"flag over env", env{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_ADDRESS": "env:1"}, []string{"--address", "flag:2", "--profile", "prod", "--api-key", "k2"}, "flag:2", "prod-ns", "k2", true},
		{"config-file flag", env{}, []string{"--config-file", file}, "file-default:7233", "file-ns", "", false},
		{"tls env", env{"TEMPORAL_TLS": "true"}, nil, DefaultAddress, DefaultNamespace, "", true},
		{"tls flag off beats env", env{"TEMPORAL_TLS": "true"}, []string{"--tls=false"}, DefaultAddress, DefaultNamespace, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := parse(c.e, c.args...)
			p, err := s.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			if p.Address != c.addr || p.Namespace != c.ns || p.APIKey != c.key {
				t.Fatalf("got %s/%s key %q, want %s/%s key %q", p.Address, p.Namespace, p.APIKey, c.addr, c.ns, c.key)
			}
			o, err := s.ClientOptions()
			if err != nil {
				t.Fatal(err)
			}
			if UsesTLS(o) != c.tls {
				t.Fatalf("TLS %v, want %v", UsesTLS(o), c.tls)
			}
		})
	}
}

func TestUnknownProfileSaysWhich(t *testing.T) {
	s := &Settings{Env: env{}, Profile: "nope", ConfigFile: filepath.Join(t.TempDir(), "none.toml")}
	_, err := s.Resolve()
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err %v", err)
	}
}
