package activities

import (
	"context"
	"errors"
	"fmt"
	"os"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Big files (Activities.StripeFrom, default 64 MiB) are striped: their
// chunks travel over every SSH connection of the copy at once, and with
// verify = "sha256" the target hashes them as they land
// (copy_striped_verify.go) instead of re-reading the whole file after it
// is placed. A file verified that way goes straight to the manifest.

// defaultStripeBytes is how much landed data the target hashes per dd:
// small enough that little is left to hash after the last chunk lands,
// large enough that process starts (one dd per stripe) cost nothing.
const defaultStripeBytes = 32 << 20

// stripeFrom is the size from which a file is striped.
func (e *engine) stripeFrom() int64 {
	if n := e.src.a.Options.StripeFrom; n > 0 {
		return n
	}
	return bigFile
}

// stripeBytes is the stripe the target hashes at a time.
func (e *engine) stripeBytes() int64 {
	if n := e.src.a.Options.StripeBytes; n > 0 {
		return n
	}
	return defaultStripeBytes
}

// verifiesInFlight reports whether a copied file of size bytes is hashed
// on the target while it is copied.
func (e *engine) verifiesInFlight(size int64) bool {
	if !e.opt.verifySHA || size < e.stripeFrom() || size <= chunkSize || e.dst.run == nil || e.hooks.forceReadBack {
		return false
	}
	tool, known := e.dst.getTool()
	return !known || tool.sum
}

// landedRec is a file whose target digest was checked in flight.
type landedRec struct {
	sum   string
	ident fileIdent // target identity after placement; zero if not listed
}

// copyFileChecked copies one file. A file whose in-flight verification
// finds a different digest on the target is copied once more from
// scratch; a second difference fails the copy for good, as for files
// verified after placement.
func (e *engine) copyFileChecked(ctx context.Context, idx int, rel string, fi, old os.FileInfo) (string, error) {
	sum, err := e.copyFile(ctx, idx, rel, fi, old)
	if errors.Is(err, errLandedMismatch) {
		e.recopied.Add(1)
		e.tracef("recopy %s: %v", rel, err)
		sum, err = e.copyFile(ctx, idx, rel, fi, old)
		if errors.Is(err, errLandedMismatch) {
			return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"verification failed twice for %s: %v; check the target's disk and memory before retrying",
				e.dstPath(rel), err), contract.ErrVerificationFailed, nil)
		}
	}
	if err != nil {
		return "", err
	}
	if v, ok := e.landedOK.Load(rel); ok && e.idsListed(ctx) {
		// The identity a final sync trusts is listed after placement,
		// and kept only if it still has the source's size and mtime (a
		// write after the hash would have moved the mtime).
		p := e.dstPath(rel)
		if id, ok := e.dstIdents(ctx, []string{p})[p]; ok && id.Size == fi.Size() && id.MtimeNs == fi.ModTime().UnixNano() {
			e.landedOK.Store(rel, landedRec{sum: v.(landedRec).sum, ident: id})
		}
	}
	return sum, nil
}

// landedVerified records a copied file that was verified in flight and
// reports whether it was; other files go to the verifier.
func (e *engine) landedVerified(rel string, fi os.FileInfo, sum string, listed bool) bool {
	v, ok := e.landedOK.LoadAndDelete(rel)
	if !ok || v.(landedRec).sum != sum {
		return false
	}
	rec := v.(landedRec)
	e.verified.Add(1)
	e.verSum.Add(1)
	e.prog.filesDone.Add(1)
	e.man.add(manifestOf(rel, fi, sum, ""))
	if listed {
		e.ids.add(rel, sum, rec.ident)
	}
	return true
}
