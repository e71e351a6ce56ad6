//go:build chaos

package chaos

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

func (s *suite) fuzzTime() time.Duration {
	if s.full {
		return 10 * time.Minute
	}
	return 30 * time.Second
}

func fuzzFault(s *suite) string {
	return fmt.Sprintf("plan fuzzing (FuzzLoad, %s)", s.fuzzTime())
}

var execsRE = regexp.MustCompile(`execs: (\d+)`)

// startFuzz runs the plans package's native fuzz target for a fixed time
// beside the other lanes, on one worker so it leaves the moves CPU; the
// returned function waits for it and gives its row.
func (s *suite) startFuzz(t *testing.T) func() Row {
	cmd := exec.Command("go", "test", "./plans", "-run", "^$", "-fuzz", "^FuzzLoad$",
		"-fuzztime", s.fuzzTime().String(), "-parallel", "1")
	cmd.Dir = "../.."
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return func() Row { return Row{Broken: true, Text: "could not start", Problems: []string{err.Error()}} }
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return func() Row {
		err := <-done
		execs := "?"
		if m := execsRE.FindAllStringSubmatch(out.String(), -1); len(m) > 0 {
			execs = m[len(m)-1][1]
		}
		if err != nil {
			return Row{Broken: true, Text: execs + " execs, FAILED (reproducer in plans/testdata/fuzz)",
				Problems: []string{fmt.Sprintf("go test -fuzz FuzzLoad: %v: %s", err, tail(out.String(), 1500))}}
		}
		return Row{Text: execs + " execs, no failure"}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
