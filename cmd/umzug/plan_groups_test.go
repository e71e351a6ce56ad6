package main

import (
	"strings"
	"testing"
)

// umzug plan shows a multi-host application's hosts, each copy set's own
// pair, a parallel group under one number and the predicted cutover with
// the group counted as its longest member (5m, not 2m + 5m).
func TestPlanOfflineMultiHost(t *testing.T) {
	code, out, errOut := cli(t, "plan", "--offline", "../../plans/testdata/multihost.hcl")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	inOrder := []string{
		"host    host.db_pb  migrate@10.1.0.11:22  in pb  queue umzug-pb",
		"host    host.dns_lg",
		"copy app: app_pb:/srv/finance -> app_lg:/srv/finance",
		"copy db: db_pb:/var/lib/postgresql -> db_lg:/var/lib/postgresql",
		"1. at once (counts its longest member):",
		"a) step stop_app on source (app_pb)",
		"counts 2m",
		"b) step stop_db on host.db_pb (db_pb)",
		"counts 5m",
		"2. final_sync",
		"3. step start_db on host.db_lg (db_lg)",
		"4. step switch_dns on host.dns_lg (dns_lg)",
		"predicted cutover before the final sync's delta is measured: at least 7m30s",
	}
	pos := 0
	for _, want := range inOrder {
		i := strings.Index(out[pos:], want)
		if i < 0 {
			t.Fatalf("after byte %d, output lacks %q:\n%s", pos, want, out)
		}
		pos += i + len(want)
	}
}
