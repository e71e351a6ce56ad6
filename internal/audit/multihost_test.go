package audit

import (
	"strings"
	"testing"
)

// The audit of a multi-host move lists the key preflight verified for
// every host it touched, with each host's roles, in both renderings.
func TestMultiHostMoveListsEveryHostKey(t *testing.T) {
	e, err := NewEvidence("umzug/record/finance-3tier", loadHistory(t, "../../workflows/testdata/multihost/move_commit.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range e.Report.HostKeys {
		got = append(got, k.Host+"="+k.Role+"@"+k.Address)
	}
	want := "fin_pb=source@10.20.1.15:22,fin_lg=target@10.40.7.21:22,db_pb=copy source, steps@10.20.1.16:22," +
		"db_lg=copy target, steps@10.40.7.22:22,dns_lg=steps@10.40.7.53:22"
	if strings.Join(got, ",") != want {
		t.Fatalf("host keys\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	files, err := renderReports(e.Report)
	if err != nil {
		t.Fatal(err)
	}
	for n, b := range files {
		if strings.HasSuffix(n, ".md") && !strings.Contains(string(b), "dns_lg") {
			t.Errorf("%s does not name dns_lg", n)
		}
	}
}
