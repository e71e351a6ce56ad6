package plans

import (
	"strings"
	"testing"
	"time"
)

func TestFinanceExampleLoads(t *testing.T) {
	p, diags := Load([]string{"../examples/finance.hcl"}, LoadOptions{})
	if len(diags) > 0 {
		var sb strings.Builder
		_ = WriteDiagnostics(&sb, p.Files, diags, 100, false)
		t.Fatalf("finance.hcl: %d diagnostics:\n%s", len(diags), sb.String())
	}
	if p.Name != "finance" || len(p.SHA256) != 64 {
		t.Fatalf("name %q sha %q", p.Name, p.SHA256)
	}
	app := p.Application("finance")
	if app == nil {
		t.Fatal("no application finance")
	}
	if app.Source.Name != "fin_pb" || app.Target.Name != "fin_lg" || app.Source.Datacenter.Name != "paderborn" {
		t.Fatalf("source/target: %+v %+v", app.Source, app.Target)
	}
	if app.Source.Address != "127.0.0.1:2222" {
		t.Fatalf("address %q", app.Source.Address)
	}
	if len(app.Copies) != 1 || app.Copies[0].From != "/tmp/umzug-demo/paderborn/srv/finance/data" || !app.Copies[0].Delete {
		t.Fatalf("copies: %+v", app.Copies[0])
	}
	co := app.Cutover
	var kinds []string
	for _, b := range co.Blocks {
		kinds = append(kinds, b.Kind+":"+b.Name)
	}
	if got := strings.Join(kinds, ","); got != "step:stop_app,final_sync:final_sync,step:start_app,check:health" {
		t.Fatalf("blocks in order: %s", got)
	}
	if co.Approval.Quorum != 2 || !co.Approval.FourEyes || co.Approval.Timeout != 72*time.Hour {
		t.Fatalf("approval %+v", co.Approval)
	}
	if co.Window.Duration != 4*time.Hour || co.Window.NotBefore.IsZero() {
		t.Fatalf("window %+v", co.Window)
	}
	if co.Blocks[3].Retries != 5 || co.Blocks[3].Interval != 2*time.Second || co.Blocks[0].Timeout != 2*time.Minute {
		t.Fatalf("blocks %+v %+v", co.Blocks[0], co.Blocks[3])
	}
	if app.Soak != 10*time.Minute {
		t.Fatalf("soak %v", app.Soak)
	}
}
