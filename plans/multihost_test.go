package plans

import (
	"os"
	"strings"
	"testing"
)

func TestMultiHostPlanLoads(t *testing.T) {
	src, err := os.ReadFile("testdata/multihost.hcl")
	if err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, "multihost.hcl", string(src), LoadOptions{})
	a := p.Application("finance")
	db := a.Copies[1]
	if a.CopySource(db).Name != "db_pb" || a.CopyTarget(db).Name != "db_lg" {
		t.Fatalf("copy db hosts: %s → %s", a.CopySource(db).Name, a.CopyTarget(db).Name)
	}
	if a.CopySource(a.Copies[0]).Name != "app_pb" || a.CopyTarget(a.Copies[0]).Name != "app_lg" {
		t.Fatal("copy app does not default to the application's hosts")
	}
	var got []string
	for _, b := range a.Cutover.Blocks {
		h := "-"
		if hh := a.BlockHost(b); hh != nil {
			h = hh.Name
		}
		got = append(got, b.Kind+":"+b.Name+"@"+h+"#"+string(rune('0'+b.Group)))
	}
	want := "step:stop_app@app_pb#1,step:stop_db@db_pb#1,final_sync:final_sync@-#0,step:start_db@db_lg#0,step:switch_dns@dns_lg#0"
	if strings.Join(got, ",") != want {
		t.Fatalf("blocks\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	var hosts []string
	for _, h := range a.Hosts() {
		hosts = append(hosts, h.Name)
	}
	if strings.Join(hosts, ",") != "app_pb,app_lg,db_pb,db_lg,dns_lg" {
		t.Fatalf("hosts %v", hosts)
	}
	if !a.MultiHost() {
		t.Fatal("MultiHost false")
	}
}

// TestMultiHostRefusals: undefined host references in on, source and
// target are reported where written, and a copy set's `to` may not
// overlap another's on the same target host, while equal paths on
// different target hosts are fine (the plan above has two).
func TestMultiHostRefusals(t *testing.T) {
	src, err := os.ReadFile("testdata/multihost.hcl")
	if err != nil {
		t.Fatal(err)
	}
	base := string(src)
	cases := []struct {
		name, from, to, want string
	}{
		{"undefined on", "on   = host.dns_lg", "on   = host.dns_lemgo", "multihost.hcl:85:14:\nError: Reference to undefined host"},
		{"undefined copy target", "target = host.db_lg", "target = host.db_lgx", "multihost.hcl:55:14:\nError: Reference to undefined host"},
		{"copy onto itself", "source = host.db_pb", "source = host.db_lg", "Copy source equals target"},
		{"overlap per target host", "target = host.db_lg\n    from   = \"/var/lib/postgresql\"\n    to     = \"/var/lib/postgresql\"",
			"target = host.app_lg\n    from   = \"/var/lib/postgresql\"\n    to     = \"/srv/finance/db\"", "Overlapping copy targets"},
		{"on as a string", "on   = host.dns_lg", `on   = "host.dns_lg"`, "Invalid on"},
		{"empty parallel", "final_sync {}", "final_sync {}\n    parallel {}", "Empty parallel block"},
		{"nested parallel", "final_sync {}", "parallel {\n parallel {}\n }\n final_sync {}", "Unsupported block type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(base, c.from) {
				t.Fatalf("%q not in the plan", c.from)
			}
			p, diags := loadString(t, "multihost.hcl", strings.Replace(base, c.from, c.to, 1), LoadOptions{})
			out := renderDiags(p, diags)
			if !diags.HasErrors() || !strings.Contains(out, c.want) {
				t.Fatalf("want %q in:\n%s", c.want, out)
			}
		})
	}
}
