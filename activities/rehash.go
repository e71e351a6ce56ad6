package activities

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// rehashBatch bounds one sha256sum command's files.
const rehashBatch = 2048

// RehashAfterSwitch hashes every file of a final sync's manifest again on
// the source (stopped during soak: every file must still hash to the
// manifest's digest) and on the target (files whose size and mtime are
// still the manifest's; the others were changed by the application since
// the switch and are counted as skipped). A mismatch fails non-retryably
// (VerificationFailed) naming the first files.
func (a *Activities) RehashAfterSwitch(ctx context.Context, in RehashInput) (RehashResult, error) {
	if a.agentEngine() {
		if res, ok, err := a.rehashAgent(ctx, in); ok || err != nil {
			return res, err
		}
	}
	start := time.Now()
	c := in.Copy
	res := RehashResult{Set: c.Set.Name}
	var src, dst *endpoint
	var serr, derr error
	var wg sync.WaitGroup
	wg.Go(func() { src, serr = a.openEndpoint(ctx, c.Source, 1, nil) })
	wg.Go(func() { dst, derr = a.openEndpoint(ctx, c.Target, 1, nil) })
	wg.Wait()
	defer src.close()
	defer dst.close()
	if err := firstErr(serr, derr); err != nil {
		return res, permanent(err)
	}
	to := strings.TrimSuffix(c.Set.To, "/")
	ents, err := readManifestFiles(dst, manifestPath(to, c.MoveID, c.Set.Name, PhaseFinalSync), in.ManifestSHA256)
	if err != nil {
		return res, err
	}
	var done atomic.Int64
	stop := heartbeatEvery(ctx, 10*time.Second, func() any { return done.Load() })
	defer stop()
	var bad []string
	for i := 0; i < len(ents); i += rehashBatch {
		b := ents[i:min(i+rehashBatch, len(ents))]
		got, err := rehashOne(ctx, src, dst, c.Set.From, to, b, &res)
		if err != nil {
			return res, err
		}
		bad = append(bad, got...)
		done.Add(int64(len(b)))
	}
	res.Duration = time.Since(start)
	if len(bad) > 0 {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"re-hash after the switch: %d file(s) of copy set %s no longer match the digest verified for them: %s; roll back and check both hosts' disks",
			len(bad), c.Set.Name, strings.Join(bad[:min(len(bad), 10)], "; ")), contract.ErrVerificationFailed, nil)
	}
	return res, nil
}

// rehashOne checks one batch on both hosts and returns its mismatches.
func rehashOne(ctx context.Context, src, dst *endpoint, from, to string, b []manifestEntry, res *RehashResult) ([]string, error) {
	sp, dp := make([]string, len(b)), make([]string, len(b))
	for i, m := range b {
		sp[i], dp[i] = joinRel(from, m.name()), joinRel(to, m.name())
	}
	var ss, ds []string
	var ids map[string]fileIdent
	var serr, derr error
	var wg sync.WaitGroup
	wg.Go(func() { ss, _, serr = hashSide(ctx, src, sp) })
	wg.Go(func() {
		ids = identsOfPaths(ctx, dst, dp)
		ds, _, derr = hashSide(ctx, dst, dp)
	})
	wg.Wait()
	if err := firstErr(serr, derr); err != nil {
		return nil, fmt.Errorf("re-hash copy set files: %w", err)
	}
	var bad []string
	for i, m := range b {
		res.Files++
		res.Bytes += m.Size
		if ss[i] != m.SHA256 {
			bad = append(bad, fmt.Sprintf("source %s has sha256 %s, verified %s", sp[i], ss[i], m.SHA256))
		}
		id, ok := ids[dp[i]]
		if ids != nil && (!ok || id.Size != m.Size || id.MtimeNs/1e9 != m.Mtime) {
			res.TargetSkipped++
			continue
		}
		res.TargetChecked++
		if ds[i] != m.SHA256 {
			bad = append(bad, fmt.Sprintf("target %s has sha256 %s, verified %s", dp[i], ds[i], m.SHA256))
		}
	}
	return bad, nil
}

// readManifestFiles reads a manifest's file entries after checking its
// digest against the one history holds.
func readManifestFiles(ep *endpoint, p, want string) ([]manifestEntry, error) {
	f, err := ep.primary.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open manifest %s on %s: %w", p, ep.name, err)
	}
	defer f.Close()
	h := sha256.New()
	sc := bufio.NewScanner(io.TeeReader(bufio.NewReaderSize(f, 1<<20), h))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []manifestEntry
	for sc.Scan() {
		var m manifestEntry
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("manifest %s on %s: %w", p, ep.name, err)
		}
		if m.Type == "file" && m.SHA256 != "" {
			out = append(out, m)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read manifest %s on %s: %w", p, ep.name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"manifest %s on %s has sha256 %s, but the final sync wrote %s: it was changed since; the re-hash cannot trust it",
			p, ep.name, got, want), contract.ErrVerificationFailed, nil)
	}
	return out, nil
}
