package demo

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// PrintCenterPlan is the file name of the print-center plan in the demo
// directory; SetupPrintCenter writes plan there.
const PrintCenterPlan = "print-center.hcl"

// SetupPrintCenter starts the print-center scenario: OWL-IT's print center
// (the source, with a print spool and forms) and the AKDB partner site
// (the standby target, holding only the parent directory). plan is
// examples/print-center.hcl; o.PaderbornAddr and o.LemgoAddr are the two
// sites' SSH addresses.
func SetupPrintCenter(o Options, plan []byte) (*Env, error) {
	e, err := setupSites(o, PrintCenterPlan, plan,
		siteSpec{"owl", o.PaderbornAddr, "OWL-IT SSH"}, siteSpec{"akdb", o.LemgoAddr, "AKDB SSH"})
	if err != nil {
		return nil, err
	}
	e.dataRel = "srv/print"
	if e.Data, err = GeneratePrintSpool(e.SourceData(), o.Seed, o.Scale); err != nil {
		e.Close()
		return nil, fmt.Errorf("generate print data: %w", err)
	}
	if err := os.WriteFile(filepath.Join(e.Source.Root, "run/print.state"), []byte("running\n"), 0o644); err != nil {
		e.Close()
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(e.TargetData()), 0o755); err != nil {
		e.Close()
		return nil, err
	}
	e.Vars = map[string]string{
		"demo_dir":     e.Dir,
		"owl_address":  e.Source.Server.Addr(),
		"akdb_address": e.Target.Server.Addr(),
	}
	return e, nil
}

// GeneratePrintSpool writes a print-and-mail share under root: forms and
// templates that rarely change, and a spool of print jobs per city and
// day. The content is pseudo-random from seed; scale multiplies the jobs.
func GeneratePrintSpool(root string, seed uint64, scale int) (DataStats, error) {
	if scale < 1 {
		scale = 1
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x51ed2701))
	var st DataStats
	base := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	for _, form := range []string{"letterhead.ps", "tax-notice.ps", "dog-licence.ps", "envelope-c4.ps"} {
		if err := writeRandom(root, filepath.Join("forms", form), 16<<10+rng.IntN(48<<10), rng, base.Add(-90*24*time.Hour), &st); err != nil {
			return st, err
		}
	}
	for _, city := range []string{"bielefeld", "guetersloh", "herford", "minden"} {
		for j := 0; j < 40*scale; j++ {
			rel := filepath.Join("spool", city, fmt.Sprintf("job-%05d.pdf", j))
			if err := writeRandom(root, rel, 2<<10+rng.IntN(120<<10), rng, base.Add(time.Duration(j)*time.Minute), &st); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// AddPrintJobs writes n new print jobs for city under root, as a print
// center does while it runs, and returns their paths relative to root.
func AddPrintJobs(root, city string, n int, seed uint64) ([]string, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x2545f491))
	var st DataStats
	var rels []string
	now := time.Now()
	for j := 0; j < n; j++ {
		rel := filepath.Join("spool", city, fmt.Sprintf("job-new-%d-%03d.pdf", seed, j))
		if err := writeRandom(root, rel, 1<<10+rng.IntN(64<<10), rng, now, &st); err != nil {
			return rels, err
		}
		rels = append(rels, rel)
	}
	return rels, nil
}

// writeRandom writes size pseudo-random bytes to root/rel with mtime at.
func writeRandom(root, rel string, size int, rng *rand.Rand, at time.Time, st *DataStats) error {
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		return err
	}
	st.Files++
	st.Bytes += int64(size)
	return os.Chtimes(p, at, at)
}
