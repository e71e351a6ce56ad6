package plans

import (
	"strings"
	"testing"
)

func agentPathPlan(p string) string {
	return `{
  "datacenter": {"a": {}},
  "host": {
    "h1": {"datacenter": "datacenter.a", "address": "h1", "user": "m", "agent": true, "known_hosts": "/k", "agent_path": "` + p + `"},
    "h2": {"datacenter": "datacenter.a", "address": "h2", "user": "m", "agent": true, "known_hosts": "/k"}
  },
  "application": {"app": {"source": "host.h1", "target": "host.h2", "copy": {"c": {"from": "/a", "to": "/a"}}}}
}`
}

func TestHostAgentPath(t *testing.T) {
	p, diags := loadString(t, "a.hcl.json", agentPathPlan("/opt/umzug/umzug-agent"), LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := map[string]string{}
	for _, h := range p.Hosts {
		got[h.Name] = h.AgentPath
	}
	if got["h1"] != "/opt/umzug/umzug-agent" || got["h2"] != "" {
		t.Fatalf("agent_path per host: %v", got)
	}
	for _, bad := range []string{"umzug-agent", "/opt/../tmp/umzug-agent", "/opt/umzug/"} {
		_, diags := loadString(t, "a.hcl.json", agentPathPlan(bad), LoadOptions{})
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "Invalid agent_path") {
			t.Errorf("agent_path %q: %v", bad, diags)
		}
	}
}
