package launch

import (
	"strings"
	"testing"
)

func TestCanonicalHost(t *testing.T) {
	for in, want := range map[string]string{
		"Lemgo.Example.:22": "lemgo.example:22",
		"lemgo.example":     "lemgo.example:22",
		"[::1]:2223":        "[::1]:2223",
		"127.0.0.1:2223":    "127.0.0.1:2223",
	} {
		if got := canonicalHost(in); got != want {
			t.Errorf("canonicalHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConflicts(t *testing.T) {
	use := func(host, to, plan, app, wf string) TargetUse {
		return TargetUse{Host: canonicalHost(host), HostName: "h", To: to, Plan: plan, App: app, Set: "data", Workflow: wf}
	}
	open := []TargetUse{
		use("lemgo:22", "/srv/finance", "finance", "finance", "umzug/finance/finance"),
		use("lemgo:22", "/srv/hr", "hr", "hr", "umzug/hr/hr/standby/record"),
	}
	cases := []struct {
		name string
		new  TargetUse
		want string // the open workflow it conflicts with, "" for none
	}{
		{"same directory, other plan", use("LEMGO", "/srv/finance", "finance-b", "finance", "umzug/finance-b/finance"), "umzug/finance/finance"},
		{"inside the open target", use("lemgo:22", "/srv/finance/archive", "x", "x", "umzug/x/x"), "umzug/finance/finance"},
		{"around the open target", use("lemgo:22", "/srv", "x", "x", "umzug/x/x"), "umzug/finance/finance"},
		{"a standby's target", use("lemgo:22", "/srv/hr", "x", "x", "umzug/x/x"), "umzug/hr/hr/standby/record"},
		{"sibling with a common prefix", use("lemgo:22", "/srv/finance2", "x", "x", "umzug/x/x"), ""},
		{"same path, other host", use("paderborn:22", "/srv/finance", "x", "x", "umzug/x/x"), ""},
		{"same path, other port", use("lemgo:2222", "/srv/finance", "x", "x", "umzug/x/x"), ""},
		{"the application's own workflows", use("lemgo:22", "/srv/finance", "finance", "finance", "umzug/finance/finance/failback"), ""},
	}
	for _, c := range cases {
		got := Conflicts([]TargetUse{c.new}, open)
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("%s: conflict %v, want none", c.name, got[0])
		case c.want != "" && (len(got) != 1 || got[0].Open.Workflow != c.want):
			t.Errorf("%s: conflicts %v, want one with %s", c.name, got, c.want)
		case c.want != "":
			msg := got[0].Error()
			for _, w := range []string{c.want, c.new.To, "another `to`"} {
				if !strings.Contains(msg, w) {
					t.Errorf("%s: message %q lacks %q", c.name, msg, w)
				}
			}
		}
	}
}
