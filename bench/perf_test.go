//go:build interop

package bench

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var perfDir = flag.String("umzug.perf", "", "record every run machine-wide with perf (linux-perf) and write its CPU by process into this directory")

// perfHz is perf's sampling rate per CPU: one sample is a millisecond of
// CPU time.
const perfHz = 1000

// perfRuns numbers the recordings in the order they ran.
var perfRuns int

// profiled runs fn while perf records the whole machine, when
// -umzug.perf is set, and writes <n>-<name>.txt: CPU milliseconds by
// process name (sshd, sftp-server, find, tar, python3, rsync, ssh, the
// copy child). Every process of a run counts, on both "hosts" and here,
// which a profile of the copy child alone does not show. perf starts
// before and stops after fn, so the timings fn takes are its own; they
// still carry perf's sampling overhead.
func profiled(b *testing.B, name string, fn func()) {
	b.Helper()
	if *perfDir == "" {
		fn()
		return
	}
	if err := os.MkdirAll(*perfDir, 0o755); err != nil {
		b.Fatal(err)
	}
	perfRuns++
	base := filepath.Join(*perfDir, fmt.Sprintf("%02d-%s", perfRuns, name))
	rec := exec.Command("perf", "record", "-a", "-q", "-F", strconv.Itoa(perfHz), "-o", base+".perf")
	var errb bytes.Buffer
	rec.Stderr = &errb
	if err := rec.Start(); err != nil {
		b.Fatalf("perf record (apt-get install linux-perf): %v", err)
	}
	time.Sleep(500 * time.Millisecond) // recording before fn starts
	start := time.Now()
	fn()
	took := time.Since(start)
	rec.Process.Signal(os.Interrupt)
	if err := rec.Wait(); err != nil && !strings.Contains(err.Error(), "interrupt") {
		b.Logf("perf record %s: %v: %s", name, err, errb.String())
	}
	out, err := exec.Command("perf", "report", "-i", base+".perf", "-n", "--sort", "comm", "--stdio").Output()
	if err != nil {
		b.Fatalf("perf report %s: %v", base, err)
	}
	sum := perfByProcess(out, took)
	if err := os.WriteFile(base+".txt", []byte(sum), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("perf %s:\n%s", base, sum)
}

// perfByProcess turns `perf report --sort comm -n` into CPU milliseconds
// by process name, leaving out idle (swapper) and perf itself.
func perfByProcess(report []byte, took time.Duration) string {
	type proc struct {
		name string
		ms   int
	}
	var ps []proc
	total := 0
	sc := bufio.NewScanner(bytes.NewReader(report))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || strings.HasPrefix(f[0], "#") || !strings.HasSuffix(f[0], "%") {
			continue
		}
		n, err := strconv.Atoi(f[1])
		name := strings.Join(f[2:], " ")
		if err != nil || name == "swapper" || strings.HasPrefix(name, "perf") {
			continue
		}
		ms := n * 1000 / perfHz
		ps = append(ps, proc{name, ms})
		total += ms
	}
	var s strings.Builder
	fmt.Fprintf(&s, "run %.3f s; CPU by process, ms (perf record -a -F %d; idle and perf left out)\n", took.Seconds(), perfHz)
	for _, p := range ps {
		if p.ms >= 5 {
			fmt.Fprintf(&s, "%8d  %s\n", p.ms, p.name)
		}
	}
	fmt.Fprintf(&s, "%8d  all\n", total)
	return s.String()
}
