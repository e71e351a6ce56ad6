package activities

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/agentclient"
	"github.com/umzug-dev/umzug/internal/agentdeploy"
	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// rehashAtOnce bounds the files the agents hash at the same time.
const rehashAtOnce = 8

// rehashAgent is RehashAfterSwitch over the agents (the agent engine):
// every file is looked up beneath the copy roots without following a
// symlink and hashed by the agent on its host, none through a shell
// command. ok is false when a host runs no commands: the caller takes
// the classic way.
func (a *Activities) rehashAgent(ctx context.Context, in RehashInput) (res RehashResult, ok bool, err error) {
	start := time.Now()
	c := in.Copy
	res.Set = c.Set.Name
	sc, err := a.dial(ctx, c.Source)
	if err != nil {
		return res, false, err
	}
	defer a.release(ctx, sc)
	dc, err := a.dial(ctx, c.Target)
	if err != nil {
		return res, false, err
	}
	defer a.release(ctx, dc)
	sa, err := a.agentFor(ctx, c.Source)
	if errors.Is(err, agentdeploy.ErrNoExec) {
		return res, false, nil
	}
	if err != nil {
		return res, false, err
	}
	defer sa.release()
	da, err := a.agentFor(ctx, c.Target)
	if errors.Is(err, agentdeploy.ErrNoExec) {
		return res, false, nil
	}
	if err != nil {
		return res, false, err
	}
	defer da.release()
	a.Options.tracef("re-hash of %s through the agents", c.Set.Name)
	to := strings.TrimSuffix(path.Clean(c.Set.To), "/")
	cl, err := dc.SFTP()
	if err != nil {
		return res, true, fmt.Errorf("open SFTP to %s: %w", hostLabel(c.Target), err)
	}
	// The manifest's digest is checked against the one history holds: its
	// bytes are trusted however they were reached.
	ents, err := readManifestFiles(&endpoint{primary: cl, name: hostLabel(c.Target)}, manifestPath(to, c.MoveID, c.Set.Name, PhaseFinalSync), in.ManifestSHA256)
	if err != nil {
		return res, true, err
	}
	sr, err := sa.OpenRoot(ctx, path.Clean(c.Set.From), agentproto.RoleSource)
	if err != nil {
		return res, true, fmt.Errorf("open %s on %s for the re-hash: %w", c.Set.From, hostLabel(c.Source), err)
	}
	defer closeRoot(sr, sa.conn)
	dr, err := da.OpenRoot(ctx, to, agentproto.RoleSource)
	if err != nil {
		return res, true, fmt.Errorf("open %s on %s for the re-hash: %w", to, hostLabel(c.Target), err)
	}
	defer closeRoot(dr, da.conn)

	var done, checked, skipped, nbytes atomic.Int64
	stop := heartbeatEvery(ctx, 10*time.Second, func() any { return done.Load() })
	defer stop()
	var mu sync.Mutex
	var bad []string
	var failed error
	sem := make(chan struct{}, rehashAtOnce)
	var wg sync.WaitGroup
	for _, m := range ents {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem; done.Add(1) }()
			rel := m.name()
			nbytes.Add(m.Size)
			var why []string
			lost := func(err error) bool {
				if err == nil || (!errors.Is(err, agentclient.ErrClosed) && ctx.Err() == nil) {
					return false
				}
				mu.Lock()
				failed = cmpErr(failed, fmt.Errorf("re-hash %s: %w", rel, err))
				mu.Unlock()
				return true
			}
			s, err := hashAt(ctx, sr, rel)
			if lost(err) {
				return
			}
			if err != nil {
				why = append(why, fmt.Sprintf("source %s: %v", joinRel(c.Set.From, rel), err))
			} else if s != m.SHA256 {
				why = append(why, fmt.Sprintf("source %s has sha256 %s, verified %s", joinRel(c.Set.From, rel), s, m.SHA256))
			}
			// Target files whose size or mtime moved were changed by the
			// application since the switch: skipped.
			fi, err := dr.Lstat(ctx, rel)
			if lost(err) {
				return
			}
			if err != nil || fi.Type != rootfs.TypeFile || fi.Size != m.Size || floorSec(fi.MtimeNs) != m.Mtime {
				skipped.Add(1)
			} else {
				checked.Add(1)
				d, err := hashAt(ctx, dr, rel)
				if lost(err) {
					return
				}
				if err != nil {
					why = append(why, fmt.Sprintf("target %s: %v", joinRel(to, rel), err))
				} else if d != m.SHA256 {
					why = append(why, fmt.Sprintf("target %s has sha256 %s, verified %s", joinRel(to, rel), d, m.SHA256))
				}
			}
			mu.Lock()
			bad = append(bad, why...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Files, res.Bytes, res.TargetChecked, res.TargetSkipped = done.Load(), nbytes.Load(), checked.Load(), skipped.Load()
	res.Duration = time.Since(start)
	if err := firstErr(failed, ctx.Err()); err != nil {
		return res, true, err
	}
	if len(bad) > 0 {
		return res, true, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"re-hash after the switch: %d file(s) of copy set %s no longer match the digest verified for them: %s; roll back and check both hosts' disks",
			len(bad), c.Set.Name, strings.Join(bad[:min(len(bad), 10)], "; ")), contract.ErrVerificationFailed, nil)
	}
	return res, true, nil
}

// hashAt hashes the regular file rel pinned to the identity lstat shows.
func hashAt(ctx context.Context, r *agentclient.Root, rel string) (string, error) {
	fi, err := r.Lstat(ctx, rel)
	if err != nil {
		return "", err
	}
	if fi.Type != rootfs.TypeFile {
		return "", fmt.Errorf("is a %s, not a regular file", fi.Type)
	}
	id := fi.Identity()
	h, err := r.Hash(ctx, rel, &id)
	if err != nil {
		return "", err
	}
	if h.Changed {
		return "", errors.New("changed while it was hashed")
	}
	return hex.EncodeToString(h.SHA256[:]), nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// floorSec is ns as whole seconds, rounded down as time.Unix.
func floorSec(ns int64) int64 {
	s := ns / 1e9
	if ns < 0 && ns%1e9 != 0 {
		s--
	}
	return s
}

// closeRoot closes r on its agent, or the connection when the agent does
// not answer within aliveTimeout.
func closeRoot(r *agentclient.Root, c *Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), aliveTimeout)
	defer cancel()
	if err := r.Close(ctx); err != nil && ctx.Err() != nil {
		c.markBroken()
		c.Client.Close()
	}
}
