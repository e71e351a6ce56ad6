//go:build chaos

package chaos

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	fullFlag = flag.Bool("chaos.full", false, "run the full suite (the run counts of docs/reliability.md, 10 min of fuzzing)")
	seedFlag = flag.Int64("chaos.seed", 0, "seed for every random choice (0: from the clock); printed so a failure reproduces")
	docFlag  = flag.String("chaos.doc", "", "Markdown file whose generated table to rewrite (default: docs/reliability.md in full mode, none in short mode)")
	onlyFlag = flag.String("chaos.only", "", "regexp: run only the steady lane's jobs whose name matches (e.g. swap), without the process lanes and fuzzing; for reproducing one failure")
)

// suite is what all lanes share: the umzug binary, the client key, the
// seed and the figures collected so far.
type suite struct {
	bin, base, key string
	seed           int64
	full           bool
	ciUser         string
	ciUserErr      error
	only           *regexp.Regexp // -chaos.only; nil runs everything

	mu      sync.Mutex
	rows    map[string]*Row
	order   []string
	resends []resend
	control map[string]int64 // profile → wire overhead of a fault-free run
}

// resentFaults are the faults after which a copy starts again, so bytes
// re-sent say how well it resumes.
var resentFaults = map[string]bool{faultKill: true, faultRestart: true, faultLinkCut: true}

// resend is one run's wire count, turned into bytes re-sent once the
// fault-free overhead of its profile is known.
type resend struct {
	fault, profile string
	wire, needed   int64
}

func (s *suite) addRow(fault string, r Row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rows[fault] == nil {
		s.rows[fault] = &Row{Fault: fault}
		s.order = append(s.order, fault)
	}
	if r.Skipped != "" {
		s.rows[fault].Skipped = r.Skipped
	}
	if r.Text != "" {
		s.rows[fault].Text = r.Text
	}
	s.rows[fault].Merge(r)
}

// count checks a finished cell and records its figures under fault.
func (s *suite) count(fault string, c *cell, o outcome) {
	r := c.check(o)
	s.addRow(fault, r)
	if resentFaults[fault] {
		s.mu.Lock()
		s.resends = append(s.resends, resend{fault, c.o.profile, c.proxy.Sent(), c.needed})
		s.mu.Unlock()
	}
	if len(r.Problems) == 0 {
		why := ""
		if o.err != "" {
			why = ": " + o.err
		}
		fmt.Printf("chaos: %-28s %-28s ok (%s, %s)%s\n", fault, c.name, o.phase, o.note, why)
	} else {
		fmt.Printf("chaos: %-28s %-28s PROBLEM %s\n", fault, c.name, r.Problems)
	}
}

func newSuite(t *testing.T) *suite {
	s := &suite{full: *fullFlag, seed: *seedFlag, rows: map[string]*Row{}, control: map[string]int64{}}
	if s.seed == 0 {
		s.seed = time.Now().UnixNano() % 1_000_000_000
	}
	base, err := os.MkdirTemp("/tmp", "umzug-chaos-")
	if err != nil {
		t.Fatal(err)
	}
	// A non-root SSH user must reach its files: the base is world-traversable.
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	s.base = base
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(base)
		}
	})
	s.key = filepath.Join(base, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", s.key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	s.bin = filepath.Join(base, "umzug")
	build := exec.Command("go", "build", "-o", s.bin, "./cmd/umzug")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/umzug: %v\n%s", err, out)
	}
	s.ciUser, s.ciUserErr = ensureCIUser()
	if *onlyFlag != "" {
		re, err := regexp.Compile(*onlyFlag)
		if err != nil {
			t.Fatalf("-chaos.only: %v", err)
		}
		s.only = re
	}
	return s
}

// rng returns the seeded random source of one lane.
func (s *suite) rng(lane uint64) *rand.Rand { return rand.New(rand.NewPCG(uint64(s.seed), lane)) }

func (s *suite) runs(full, short int) int {
	if s.full {
		return full
	}
	return short
}

// TestChaos runs every lane, prints the table and, in full mode or with
// -chaos.doc, writes it into docs/reliability.md. It fails when a row
// breaks the promise: a byte lost or foreign, a write outside the root, a
// commit with a differing tree, or a move that neither committed nor left
// the source running.
func TestChaos(t *testing.T) {
	began := time.Now()
	s := newSuite(t)
	mode := map[bool]string{true: "full", false: "short"}[s.full]
	fmt.Printf("chaos: %s mode, seed %d (rerun with -chaos.seed %d), work dir %s\n", mode, s.seed, s.seed, s.base)
	lanes := []func(*testing.T){s.killLane, s.restartLane, s.steadyLane}
	fuzz := func() Row { return Row{Text: "not run (-chaos.only)"} }
	if s.only == nil {
		fuzz = s.startFuzz(t)
	} else {
		lanes = lanes[2:]
	}
	// The lanes run side by side (goroutines, not parallel subtests, so
	// -parallel does not serialise them); they report with t.Error.
	var wg sync.WaitGroup
	for _, lane := range lanes {
		wg.Add(1)
		go func() { defer wg.Done(); lane(t) }()
	}
	wg.Wait()
	s.addRow(fuzzFault(s), fuzz())
	rows := s.table()
	table := Table(rows, s.seed, mode, time.Since(began), time.Now())
	fmt.Println(table)
	doc := *docFlag
	if doc == "" && s.full {
		doc = "../../docs/reliability.md"
	}
	if doc != "" {
		if err := WriteTable(doc, table); err != nil {
			t.Error(err)
		}
	}
	for _, r := range rows {
		if r.Failed() {
			t.Errorf("%s breaks the promise: %d unsettled, %d bytes lost, %d foreign bytes, %d writes outside, %d differing commits, %d unexpected",
				r.Fault, r.Unsettled, r.BytesLost, r.ForeignBytes, r.WritesOutside, r.DifferingCommits, r.Unexpected)
		}
	}
}

// table orders the rows and turns wire counts into bytes re-sent.
func (s *suite) table() []Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range s.resends {
		over, ok := s.control[rs.profile]
		if r := s.rows[rs.fault]; ok && r != nil {
			r.BytesResent += max(0, rs.wire-rs.needed-over)
			r.ResentMeasured = true
		}
	}
	rank := func(f string) int {
		for i, p := range []string{faultControl, faultKill, faultRestart, faultLinkCut, faultFull, faultHostKey, faultCrafted, "plan fuzzing"} {
			if strings.HasPrefix(f, p) {
				return i
			}
		}
		return 99
	}
	sort.SliceStable(s.order, func(i, j int) bool { return rank(s.order[i]) < rank(s.order[j]) })
	var out []Row
	for _, f := range s.order {
		out = append(out, *s.rows[f])
	}
	return out
}
