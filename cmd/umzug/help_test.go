package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// decisionCommands record a decision under --as, which they require.
var decisionCommands = []string{
	"approve", "reject", "rollback", "commit", "reschedule", "confirm",
	"failover", "failback", "standby start", "standby pause", "standby resume",
}

// find returns the command at path ("standby pause").
func find(t *testing.T, root *cobra.Command, path string) *cobra.Command {
	t.Helper()
	c, _, err := root.Find(strings.Fields(path))
	if err != nil || c == root {
		t.Fatalf("no command %q: %v", path, err)
	}
	return c
}

// Every command that talks to Temporal takes the same connection flags,
// shown in its help, as the root's help promises.
func TestHelpConnectionFlagsOnEveryTemporalCommand(t *testing.T) {
	root := newRoot()
	var paths []string
	for _, c := range root.Commands() {
		if !temporalCommands[c.Name()] {
			continue
		}
		paths = append(paths, c.Name())
		if c.Name() == "audit" {
			continue // verify works offline
		}
		for _, sub := range c.Commands() {
			paths = append(paths, c.Name()+" "+sub.Name())
		}
	}
	for _, want := range []string{"confirm", "failover", "failback", "standby pause", "setup", "plan"} {
		if !strings.Contains(" "+strings.Join(paths, " | ")+" ", " "+want+" ") {
			t.Errorf("%q is not among the Temporal commands %v", want, paths)
		}
	}
	for _, p := range paths {
		code, out, _ := cli(t, append(strings.Fields(p), "--help")...)
		if code != 0 {
			t.Errorf("%s --help: exit %d", p, code)
		}
		for _, f := range []string{"--address", "--namespace", "--api-key", "--tls-cert-path", "--tls-key-path", "--tls-ca-path", "--tls-server-name", "--profile"} {
			if !strings.Contains(out, f+" ") {
				t.Errorf("%s --help lacks %s", p, f)
			}
		}
	}
}

// A decision is never recorded under a guessed name: each decision
// command shows --as as required and refuses to run without it, before
// it dials anything.
func TestHelpDecisionsNeedAs(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1") // nothing listens: a dial would fail differently
	for _, p := range decisionCommands {
		_, out, _ := cli(t, append(strings.Fields(p), "--help")...)
		if !regexp.MustCompile(`--as string +.*\(required\)`).MatchString(out) {
			t.Errorf("%s --help does not show --as as required:\n%s", p, out)
		}
		args := append(strings.Fields(p), "umzug/x/y")
		if strings.HasPrefix(p, "standby") || p == "failover" {
			args = append(args, "--app", "x")
		}
		code, _, errOut := cli(t, args...)
		if code != 2 || !strings.Contains(errOut, "needs --as USER") {
			t.Errorf("%s without --as: exit %d, stderr %q; want exit 2 naming --as", p, code, errOut)
		}
	}
}

// One spelling per idea in the help: --reason (not --comment), -o/--output
// (not --json); the old spellings still parse.
func TestHelpOneSpellingPerIdea(t *testing.T) {
	root := newRoot()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c == root || !c.Runnable() {
			return
		}
		help := c.UsageString()
		if strings.Contains(help, "--comment") || strings.Contains(help, "--json ") {
			t.Errorf("%s shows an old spelling:\n%s", c.CommandPath(), help)
		}
		if c.Flags().Lookup("comment") != nil && c.Flags().Lookup("reason") == nil {
			t.Errorf("%s has --comment without --reason", c.CommandPath())
		}
		if c.Flags().Lookup("json") != nil && c.Flags().ShorthandLookup("o") == nil {
			t.Errorf("%s has --json without -o/--output", c.CommandPath())
		}
		// pflag shows backquoted usage text as the flag's argument, so only
		// a placeholder such as FILE or NAME=VALUE may be backquoted.
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if name, _ := pflag.UnquoteUsage(f); !regexp.MustCompile(`^[A-Za-z0-9]*$|^[A-Z_=]+$`).MatchString(name) {
				t.Errorf("%s --%s renders its argument as %q: %q", c.CommandPath(), f.Name, name, f.Usage)
			}
		})
	}
	walk(root)

	for _, p := range []string{"approve", "reject", "rollback", "reschedule", "confirm", "failover", "standby pause"} {
		c := find(t, newRoot(), p)
		if err := c.ParseFlags([]string{"--comment", "CHG-1"}); err != nil {
			t.Errorf("%s --comment: %v", p, err)
			continue
		}
		if got := c.Flags().Lookup("reason").Value.String(); got != "CHG-1" {
			t.Errorf("%s --comment CHG-1 gave reason %q", p, got)
		}
	}
	for _, p := range []string{"plan", "validate", "status"} {
		c := find(t, newRoot(), p)
		if c.Flags().ShorthandLookup("o") == nil {
			t.Errorf("%s has no -o/--output", p)
		}
	}
	code, out, _ := cli(t, "validate", "--json", "../../examples/finance.hcl")
	if code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "[") {
		t.Errorf("validate --json: exit %d, output %q; want a JSON array", code, out)
	}
	if code, out2, _ := cli(t, "validate", "-o", "json", "../../examples/finance.hcl"); code != 0 || out2 != out {
		t.Errorf("validate -o json: exit %d, output differs from --json", code)
	}
	if code, _, errOut := cli(t, "validate", "-o", "yaml", "../../examples/finance.hcl"); code != 2 || !strings.Contains(errOut, "use text or json") {
		t.Errorf("validate -o yaml: exit %d, stderr %q", code, errOut)
	}
}

// The README's command table names every flag of run, including --wave.
func TestReadmeRunLineNamesWave(t *testing.T) {
	b := readRepoFile(t, "README.md")
	for _, line := range strings.Split(b, "\n") {
		if strings.HasPrefix(line, "| `umzug run PLAN") {
			if !strings.Contains(line, "--wave") {
				t.Errorf("README's run line lacks --wave: %s", line)
			}
			return
		}
	}
	t.Error("README has no command-table line for umzug run")
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
