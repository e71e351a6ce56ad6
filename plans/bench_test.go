package plans

import (
	"fmt"
	"strings"
	"testing"
)

// generatedPlan writes a plan of n applications, each with its own pair
// of hosts, two copy sets and a full cutover, depending on its predecessor.
func generatedPlan(n int) string {
	var b strings.Builder
	b.WriteString("variable \"root\" {\n  default = \"/srv\"\n}\n\ndatacenter \"pb\" {}\n\ndatacenter \"lg\" {}\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `host "s%[1]d" {
  datacenter    = datacenter.pb
  address       = "10.20.%[2]d.%[3]d"
  user          = "migrate"
  identity_file = "~/.ssh/id"
  known_hosts   = "~/.ssh/known_hosts"
}

host "t%[1]d" {
  datacenter    = datacenter.lg
  address       = "10.40.%[2]d.%[3]d:22"
  user          = "migrate"
  identity_file = "~/.ssh/id"
  known_hosts   = "~/.ssh/known_hosts"
}

application "app%[1]d" {
  source = host.s%[1]d
  target = host.t%[1]d
`, i, i/250, i%250)
		if i > 0 {
			fmt.Fprintf(&b, "  depends_on = [application.app%d]\n", i-1)
		}
		fmt.Fprintf(&b, `
  copy "data" {
    from    = "${var.root}/app%[1]d/data"
    to      = "${var.root}/app%[1]d/data"
    exclude = ["*.tmp", "cache/**"]
  }

  copy "conf" {
    from = "/etc/app%[1]d"
    to   = "/etc/app%[1]d"
  }

  cutover {
    approval {
      approvers = ["a.meier", "b.schulz"]
      quorum    = 2
      timeout   = "72h"
    }
    step "stop" {
      on   = "source"
      run  = "systemctl stop app%[1]d"
      undo = "systemctl start app%[1]d"
    }
    final_sync {}
    step "start" {
      on   = "target"
      run  = "systemctl start app%[1]d"
      undo = "systemctl stop app%[1]d"
    }
    check "health" {
      on       = "target"
      run      = "curl -fsS http://127.0.0.1/health"
      retries  = 5
      interval = "5s"
    }
  }
  soak = "1h"
}

`, i)
	}
	b.WriteString("wave \"all\" {\n  applications = [")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "application.app%d", i)
	}
	b.WriteString("]\n  max_parallel = 10\n}\n")
	return b.String()
}

func TestGeneratedPlanLoads(t *testing.T) {
	p := mustLoad(t, "gen.hcl", generatedPlan(200), LoadOptions{})
	if len(p.Applications) != 200 || len(p.Waves[0].Applications) != 200 || p.Applications[199].DependsOn[0].Name != "app198" {
		t.Fatal("generated plan decoded wrongly")
	}
}

// BenchmarkLoad200 loads a 200-application plan (target: under 200 ms).
func BenchmarkLoad200(b *testing.B) {
	src := []byte(generatedPlan(200))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		_, diags := loadSources("gen", []source{{path: "gen.hcl", src: src}}, LoadOptions{})
		if diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
