package activities

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	"github.com/umzug-dev/umzug/internal/agentside"
	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// The agent copy engine: CopyTree and EstimateDelta run internal/mirror
// with an umzug-agent on each host (internal/agentdeploy places and starts
// it, internal/agentside makes its roots mirror.Sides); the worker relays
// the bytes from the source agent to the target agent. Every name is
// resolved by the agents beneath the copy roots without following a
// symlink. A host that runs no commands (an SFTP-only login) keeps the
// classic engine for the whole copy.

// Copy engines of Activities.CopyEngine.
const (
	CopyEngineClassic = "classic"
	CopyEngineAgent   = "agent"
)

// agentStateSuffix names the agent engine's identity state next to the
// classic one's (<set>-verified.bin): the two formats differ, and a state
// of the other engine is simply missing, so every file is hashed.
const agentStateSuffix = "-mirror.bin"

// agentCopy is one copy's sides over the two agents.
type agentCopy struct {
	in         CopyInput
	src, dst   *agentside.Side
	base       *agentclient.Root // the parent of To: the manifest's directory
	sc, dc     *Conn
	sa, da     *agentLease
	targetRoot bool     // the target agent runs as root: owners are copied
	stateErr   error    // why the identity state's place is not used
	notes      []string // remarks for CopyResult.Refusals
	closeBound time.Duration
}

func (ac *agentCopy) close() {
	// Closing a root is a round trip to its agent: on a hung link it would
	// wait forever. Past the no-progress bound (at most aliveTimeout) the
	// connections are closed, which
	// ends every call still waiting on them, and dropped from the pool.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, s := range []*agentside.Side{ac.src, ac.dst} {
			if s != nil {
				s.Close()
			}
		}
		if ac.base != nil {
			ac.base.Close(context.Background())
		}
	}()
	select {
	case <-done:
	case <-time.After(ac.closeBound):
		for _, c := range []*Conn{ac.sc, ac.dc} {
			if c != nil {
				c.markBroken()
				c.Client.Close()
			}
		}
		ac.sa.kill()
		ac.da.kill()
		<-done
	}
	ac.sa.release()
	ac.da.release()
}

// openAgentCopy dials both hosts, starts their agents and opens the
// roots. ok is false when a host runs no commands (fallback then says
// which, for the copy result) or, in a dry run, when the target does not
// exist yet: the caller takes the classic engine. The connections are the
// caller's to release.
func (a *Activities) openAgentCopy(ctx context.Context, in CopyInput, dry bool, fallback *string) (_ *agentCopy, ok bool, err error) {
	ac := &agentCopy{in: in, closeBound: aliveTimeout}
	if b := a.Options.noProgress(); b > 0 && b < aliveTimeout {
		ac.closeBound = b
	}
	defer func() {
		if err != nil || !ok {
			ac.close()
			a.release(ctx, ac.sc)
			a.release(ctx, ac.dc)
		}
	}()
	if ac.sc, err = a.dial(ctx, in.Source); err != nil {
		return nil, false, err
	}
	if ac.dc, err = a.dial(ctx, in.Target); err != nil {
		return nil, false, err
	}
	noExec := func(side string, h Host) {
		*fallback = fmt.Sprintf("note: %s %s allows SFTP only (its login runs no commands, so no agent): copied by the classic engine over SFTP, which refuses target directories others can write (unsafe_target) and trusts no identity state there", side, hostLabel(h))
		a.Options.tracef("%s runs no commands: classic engine", hostLabel(h))
	}
	if ac.sa, err = a.agentFor(ctx, in.Source); errors.Is(err, agentdeploy.ErrNoExec) {
		noExec("source", in.Source)
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	if ac.da, err = a.agentFor(ctx, in.Target); errors.Is(err, agentdeploy.ErrNoExec) {
		noExec("target", in.Target)
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	sa, da := ac.sa, ac.da
	ac.targetRoot = da.Hello().EUID == 0
	dname := hostLabel(in.Target)

	from, to := path.Clean(in.Set.From), path.Clean(in.Set.To)
	if !path.IsAbs(from) || !path.IsAbs(to) || to == "/" {
		return nil, false, permanent(temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("copy set %s: from %q and to %q must be absolute paths, to below /", in.Set.Name, in.Set.From, in.Set.To), contract.ErrCopyRefused, nil))
	}
	refused := func(format string, a ...any) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: ", in.Set.Name)+fmt.Sprintf(format, a...), contract.ErrCopyRefused, nil)
	}
	scl, err := ac.sc.SFTP()
	if err != nil {
		return nil, false, fmt.Errorf("open SFTP to %s: %w", hostLabel(in.Source), err)
	}
	if fi, err := scl.Lstat(from); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// As the classic engine: the root named through a symlink is
		// followed once, here, and said so.
		ac.notes = append(ac.notes, fmt.Sprintf("note: source root %s is a symlink; copied the directory it points to", from))
	} else if errors.Is(err, fs.ErrNotExist) {
		return nil, false, refused("source directory %s does not exist on %s", from, hostLabel(in.Source))
	}
	sr, err := sa.OpenRoot(ctx, from, agentproto.RoleSource)
	if err != nil {
		return nil, false, fmt.Errorf("open copy source %s on %s: %w", from, hostLabel(in.Source), err)
	}
	ac.src = agentside.New(sr, agentside.Options{})

	// The parent of To holds To and the manifests' directory; To is made
	// beneath it, never through a symlink.
	role := agentproto.RoleTarget
	if dry {
		role = agentproto.RoleSource
	}
	ac.base, err = da.OpenRoot(ctx, path.Dir(to), role)
	if err != nil && !dry && errors.Is(err, fs.ErrNotExist) {
		// As the classic engine, a first copy makes the missing parents
		// of its target (a partner's landing directory, a new standby).
		if err = agentMkdirParents(ctx, da, path.Dir(to)); err == nil {
			ac.base, err = da.OpenRoot(ctx, path.Dir(to), role)
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("open %s on %s (the parent of the copy target): %w", path.Dir(to), dname, err)
	}
	if !dry {
		if err := ac.base.Mkdir(ctx, path.Base(to), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			if fe := agentFull(ctx, in, ac.base, err); fe != nil {
				return nil, false, fe
			}
			return nil, false, fmt.Errorf("create copy target %s on %s: %w", to, dname, err)
		}
	}
	// The target root is opened by path: it must be the directory the
	// parent holds under that name (no symlink), before and after.
	tfi, err := ac.base.Lstat(ctx, path.Base(to))
	switch {
	case err == nil && tfi.Type == rootfs.TypeSymlink:
		return nil, false, refused("target root %s on %s is a symlink; refusing to write through it (point `to` at the real directory)", to, dname)
	case err == nil && tfi.Type != rootfs.TypeDir:
		return nil, false, refused("target %s on %s exists and is not a directory", to, dname)
	case dry && errors.Is(err, fs.ErrNotExist):
		return nil, false, nil // nothing copied yet: the classic estimate says so
	case err != nil:
		return nil, false, fmt.Errorf("stat target %s on %s: %w", to, dname, err)
	}
	dr, err := da.OpenRoot(ctx, to, role)
	if err == nil && (dr.Info.Dev != tfi.Dev || dr.Info.Ino != tfi.Ino) {
		dr.Close(ctx)
		return nil, false, refused("target root %s on %s was replaced while it was opened; run again", to, dname)
	}
	if err != nil {
		return nil, false, fmt.Errorf("open copy target %s on %s: %w", to, dname, err)
	}
	o := agentside.Options{}
	if in.Set.Verify == VerifySHA256 {
		// The identity state lives where copy_ident_trust.go says: checked
		// component by component over SFTP, then opened by the agent. A
		// place others could write is not used: the copy runs without a
		// state and says why.
		cl, err := ac.dc.SFTP()
		if err != nil {
			dr.Close(ctx)
			return nil, false, fmt.Errorf("open SFTP to %s: %w", dname, err)
		}
		l, err := identStateLoc(cl, a.IdentStateDir, in.MoveID, in.Set.Name)
		if err == nil {
			_, err = checkStateDir(cl, l, !dry)
		}
		if err == nil {
			o.State, err = da.OpenRoot(ctx, l.dir(), role)
		}
		if err != nil {
			ac.stateErr = fmt.Errorf("%s on %s: %w", l.dir(), dname, err)
		}
	}
	ac.dst = agentside.New(dr, o)
	return ac, true, nil
}

// spec is the mirror run of the copy.
func (ac *agentCopy) spec() mirror.Spec {
	in := ac.in
	s := mirror.Spec{
		Name: in.Set.Name, Include: in.Set.Include, Exclude: in.Set.Exclude, Verify: in.Set.Verify,
		Delete: in.Delete, Phase: in.Phase, AcceptRefusals: in.Set.AcceptRefusals,
		Concurrency: in.Set.Concurrency, BandwidthBytesPerSec: in.Set.BandwidthBytesPerSec,
		Owners: in.Set.Owners, OwnerMap: in.Set.OwnerMap, SELinux: in.Set.SELinux,
	}
	if in.Set.Verify == VerifySHA256 && ac.stateErr == nil {
		s.State.Name = sanitizeName(in.Set.Name) + agentStateSuffix
		if in.IdentState.Valid() {
			s.State.SHA256, s.State.Records = in.IdentState.SHA256, in.IdentState.Records
		}
	}
	return s
}

// copyTreeAgent is CopyTree over the agents; ok false: take the classic
// engine, for the reason fallback gives.
func (a *Activities) copyTreeAgent(ctx context.Context, in CopyInput, fallback *string) (res CopyResult, ok bool, err error) {
	start := time.Now()
	ac, ok, err := a.openAgentCopy(ctx, in, false, fallback)
	if err != nil || !ok {
		return CopyResult{}, ok, permanent(err)
	}
	defer func() {
		ac.close()
		a.release(ctx, ac.sc)
		a.release(ctx, ac.dc)
	}()
	spec := ac.spec()
	p := &progress{set: in.Set.Name, phase: in.Phase, start: start}
	// The no-progress bound: streamed bytes, listed entries and finished
	// hashes are progress; a hash in flight on connections that still
	// answer is not a stall. A stall ends the run and drops both
	// connections (and their agents) from the pool.
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var stalled atomic.Pointer[error]
	p.alive = func() bool {
		return connAnswers(ac.sc) && connAnswers(ac.dc) && connAnswers(ac.sa.conn) && connAnswers(ac.da.conn)
	}
	p.watchdog(a.Options.noProgress(), hostLabel(in.Source), func(err error) {
		stalled.Store(&err)
		cancel(err)
		// A hung link holds writes on a full SSH channel window, which no
		// context reaches: closing the connections ends them.
		for _, c := range []*Conn{ac.sc, ac.dc} {
			c.markBroken()
			c.Client.Close()
		}
		ac.sa.kill()
		ac.da.kill()
	})
	stop := p.heartbeat(ctx)
	obs := mirror.ObserverFunc(func(m mirror.Progress) {
		p.filesDone.Store(m.FilesDone)
		p.filesTotal.Store(m.FilesTotal)
		p.bytesDone.Store(m.BytesDone)
		p.bytesTotal.Store(m.BytesTotal)
		p.walkDone.Store(!m.Walking)
	})
	rec := &digestRecorder{Side: ac.dst, sums: map[string][32]byte{}}
	tgt := agentTarget{Side: progressSide{rec, p}, pt: ac.dst, rec: rec, p: p, afterPlace: a.hooks.afterPlace, beforeCopy: a.hooks.beforeCopy, to: path.Clean(in.Set.To)}
	var dst mirror.Side = tgt
	if a.hooks.freeBytes > 0 {
		dst = freeSide{tgt, a.hooks.freeBytes}
	}
	if a.hooks.wrapAgentTarget != nil {
		dst = a.hooks.wrapAgentTarget(dst)
	}
	// agentTarget fires afterPlace where the target writes and beforeCopy
	// where a big file's copy starts; the source's hooks wrap the source,
	// so beforeCopy of a streamed file runs before the source opens it
	// (the engine may start the read before the target's write).
	h := a.hooks
	h.afterPlace = nil
	src, dst := withHooks(h, withRanges(progressSide{ac.src, p}, ac.src), dst)
	if a.hooks.beforeCopy != nil || a.hooks.afterPlace != nil {
		// Hooks per file: no batches (the source would read a batch's
		// files before the target's hook ran for them).
		src = unbatched(src)
	}
	metas := &metaRecords{m: map[string]mirror.MetaRecord{}}
	r, runErr := mirror.Run(runCtx, spec, src, dst, mirror.Options{Owner: ac.targetRoot, Big: a.bigOptions(in),
		SrcMeta: progressMeta{ac.src, p}, DstMeta: progressMeta{ac.dst, p}, OnMeta: metas.add}, obs)
	stop()
	if e := stalled.Load(); e != nil {
		return CopyResult{}, true, *e
	}
	res = r.CopyResult(in.Set.Name, in.Phase, in.Set.Verify)
	if res.VerifiedBy == mirror.VerifiedByDigests {
		res.VerifiedBy = verifiedByAgent
	}
	if r.StateSHA256 != "" && !r.StateTrusted {
		res.IdentState = &IdentState{SHA256: r.StateSHA256, Records: r.StateRecords}
	}
	switch {
	case ac.stateErr != nil && in.Phase == PhaseSeed:
		res.Refusals = append(res.Refusals, fmt.Sprintf("note: could not record verified identities in %v; the next sync hashes every unchanged file", ac.stateErr))
	case ac.stateErr != nil && in.IdentState != nil:
		res.IdentStateNote = fmt.Sprintf("identity state not in a place only the SSH user can write (%v): every file hashed", ac.stateErr)
	case in.IdentState != nil && !r.StateTrusted:
		res.IdentStateNote = "identity state did not match the seed's digest: every file hashed"
		for _, n := range r.Notes {
			if strings.HasPrefix(n, "identity state not used") && !strings.Contains(n, "does not hash to the digest") {
				res.IdentStateNote = n
			}
		}
	}
	res.Refusals = append(ac.notes, res.Refusals...)
	var re *mirror.RefusedError
	if errors.As(runErr, &re) {
		res.Duration = time.Since(start)
		if err := refusalError(in, in.Set.From, hostLabel(in.Source), res); err != nil {
			return res, true, err
		}
		return res, true, permanent(runErr)
	}
	if err := agentVerifyFailed(in, runErr); err != nil {
		return res, true, err
	}
	if err := agentFull(ctx, in, ac.base, runErr); err != nil {
		return res, true, err
	}
	if err := agentNoSpace(in, hostLabel(in.Target), runErr); err != nil {
		return res, true, err
	}
	if runErr != nil {
		return res, true, permanent(fmt.Errorf("copy set %s from %s to %s: %w", in.Set.Name, hostLabel(in.Source), hostLabel(in.Target), runErr))
	}
	if err := ac.writeManifest(ctx, &res, r, spec, rec.sums, metas.m); err != nil {
		return res, true, permanent(err)
	}
	if in.Phase == PhaseSeed {
		ac.removeOldStates(ctx)
	}
	res.Duration = time.Since(start)
	if s := res.Duration.Seconds(); s > 0 {
		res.BytesPerSec = float64(res.CopiedBytes) / s
	}
	return res, true, nil
}

// estimateDeltaAgent is EstimateDelta over the agents; ok false: take the
// classic engine (also when the target root does not exist yet).
func (a *Activities) estimateDeltaAgent(ctx context.Context, in CopyInput) (DeltaEstimate, bool, error) {
	var fallback string
	ac, ok, err := a.openAgentCopy(ctx, in, true, &fallback)
	if err != nil || !ok {
		return DeltaEstimate{}, ok, permanent(err)
	}
	defer func() {
		ac.close()
		a.release(ctx, ac.sc)
		a.release(ctx, ac.dc)
	}()
	pl, err := mirror.Estimate(ctx, ac.spec(), ac.src, ac.dst, mirror.Options{Owner: ac.targetRoot, SrcMeta: ac.src, DstMeta: ac.dst})
	if err != nil {
		return DeltaEstimate{}, true, permanent(err)
	}
	de := DeltaEstimate{Set: in.Set.Name, SourceFiles: pl.Files, SourceBytes: pl.Bytes,
		ChangedFiles: pl.CopyFiles, ChangedBytes: pl.CopyBytes, DeletedFiles: pl.Delete,
		HashFiles: pl.HashFiles, HashBytes: pl.HashBytes}
	for _, o := range pl.Owners {
		kind := "user"
		if o.Group {
			kind = "group"
		}
		de.Owners = append(de.Owners, kind+" "+o.String())
		if o.Unknown != "" {
			de.UnknownOwners = append(de.UnknownOwners, kind+" "+o.Unknown)
		}
	}
	return de, true, nil
}

func mustJSON(me manifestEntry) []byte {
	b, err := json.Marshal(me)
	if err != nil {
		panic(err) // only strings and ints: cannot fail
	}
	return b
}

// progressSide reports a side's work to the copy's progress: bytes as
// they stream, entries as they are listed, hashes while they run.
type progressSide struct {
	mirror.Side
	p *progress
}

func (s progressSide) Walk(ctx context.Context, fn func(mirror.Entry) error) error {
	return s.Side.Walk(ctx, func(e mirror.Entry) error {
		s.p.moved.Add(1)
		return fn(e)
	})
}

func (s progressSide) ReadFile(ctx context.Context, rel string, want rootfs.Identity, w io.Writer) (mirror.Read, error) {
	return s.Side.ReadFile(ctx, rel, want, countingWriter{w, &s.p.moved})
}

func (s progressSide) HashFile(ctx context.Context, rel string, want rootfs.Identity) (mirror.Read, error) {
	done := s.p.remoteRun()
	defer done()
	return s.Side.HashFile(ctx, rel, want)
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// connAnswers proves c alive with a keepalive round trip.
func connAnswers(c *Conn) bool {
	res := make(chan error, 1)
	go func() {
		_, _, err := c.Client.SendRequest("keepalive@openssh.com", true, nil)
		res <- err
	}()
	select {
	case err := <-res:
		return err == nil
	case <-time.After(aliveTimeout):
		return false
	}
}

// digestRecorder keeps the target digest of every file a run wrote or
// hashed, for the manifest.
type digestRecorder struct {
	mirror.Side
	mu   sync.Mutex
	sums map[string][32]byte
}

func (d *digestRecorder) put(rel string, sum [32]byte) {
	d.mu.Lock()
	d.sums[rel] = sum
	d.mu.Unlock()
}

func (d *digestRecorder) WriteFile(ctx context.Context, rel string, m rootfs.Meta, r io.Reader) (mirror.Placed, error) {
	p, err := d.Side.WriteFile(ctx, rel, m, r)
	if err == nil {
		d.put(rel, p.Sum)
	}
	return p, err
}

func (d *digestRecorder) HashFile(ctx context.Context, rel string, want rootfs.Identity) (mirror.Read, error) {
	r, err := d.Side.HashFile(ctx, rel, want)
	if err == nil {
		d.put(rel, r.Sum)
	}
	return r, err
}

// writeManifest lists the target tree as the run left it (excludes left
// out) in the classic manifest's format and place, through the target
// agent: <parent of To>/.umzug/<move>/<set>-<phase>.jsonl, written to a
// temporary name and renamed. Files carry the digest the run verified, or
// the trusted state's for files it kept.
func (ac *agentCopy) writeManifest(ctx context.Context, res *CopyResult, r mirror.Result, spec mirror.Spec, sums map[string][32]byte, metas map[string]mirror.MetaRecord) error {
	in := ac.in
	dname := hostLabel(in.Target)
	final := manifestPath(in.Set.To, in.MoveID, in.Set.Name, in.Phase)
	rel := path.Join(stateDirName, sanitizeName(in.MoveID), path.Base(final))
	for _, d := range []string{stateDirName, path.Dir(rel)} {
		if err := ac.base.Mkdir(ctx, d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create state directory %s/%s on %s for the copy manifest: %w (the copy root's parent must be writable by the SSH user)", ac.base.Path, d, dname, err)
		}
		fi, err := ac.base.Lstat(ctx, d)
		if err != nil {
			return fmt.Errorf("stat state directory %s/%s on %s: %w", ac.base.Path, d, dname, err)
		}
		if fi.Type != rootfs.TypeDir {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"state directory %s/%s on %s is a %s, not a directory; umzug does not write its manifests through it: remove it or point `to` elsewhere",
				ac.base.Path, d, dname, fi.Type), contract.ErrCopyRefused, nil)
		}
	}
	removeStaleTemps(ctx, ac.base, path.Dir(rel))
	var kept map[string][32]byte
	if r.StateTrusted {
		var err error
		if kept, err = mirror.StateDigests(ctx, ac.dst, spec.State); err != nil {
			return fmt.Errorf("read the identity state again for the manifest on %s: %w", dname, err)
		}
	}
	filter, err := mirror.NewFilter(in.Set.Exclude, in.Set.Include)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	var n int64
	walkDone := make(chan error, 1)
	go func() {
		// Lines go to the pipe while the target agent writes them: the
		// walk and the write are calls of the same client, neither waits
		// inside the other's callback.
		buf := make([]byte, 0, 64<<10)
		groups := mirror.LinkGroups{}
		err := ac.dst.Walk(ctx, func(e mirror.Entry) error {
			if e.Name == "" || filter.Excluded(e.Name, e.Type == rootfs.TypeDir) {
				return nil
			}
			me := manifestEntry{Mode: fmt.Sprintf("%04o", e.Mode&0o777), Mtime: e.MtimeNs / 1e9}
			if e.MtimeNs < 0 && e.MtimeNs%1e9 != 0 {
				me.Mtime-- // floor, as time.Unix
			}
			me.Path, me.PathB64 = lossless(e.Name)
			if m, ok := metas[e.Name]; ok {
				me.Owner, me.Group, me.ACL, me.DefaultACL, me.Xattrs = m.Owner, m.Group, m.ACL, m.DefaultACL, m.XattrSHA256
			}
			switch e.Type {
			case rootfs.TypeFile:
				me.Type, me.Size = "file", e.Size
				first := groups.First(e)
				if first != "" {
					me.HardLink, me.HardLinkB64 = lossless(first)
				}
				if s, ok := sums[e.Name]; ok {
					me.SHA256 = hex.EncodeToString(s[:])
				} else if s, ok := kept[e.Name]; ok {
					me.SHA256 = hex.EncodeToString(s[:])
				} else if s, ok := sums[first]; ok && first != "" {
					me.SHA256 = hex.EncodeToString(s[:]) // the same file
				}
			case rootfs.TypeDir:
				me.Type = "dir"
			case rootfs.TypeSymlink:
				me.Type = "symlink"
				me.Link, me.LinkB64 = lossless(e.Target)
			default:
				return nil
			}
			line, ok := appendManifestLine(buf[:0], me)
			if !ok {
				line = mustJSON(me)
			}
			line = append(line, '\n')
			n++
			_, err := pw.Write(line)
			return err
		})
		pw.CloseWithError(err)
		walkDone <- err
	}()
	wr, err := ac.base.Write(ctx, rel, pr, agentclient.WriteOptions{Meta: rootfs.Meta{SetMode: true, Mode: 0o644}, Fsync: true})
	pr.CloseWithError(errors.New("manifest write ended"))
	werr := <-walkDone
	if err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("write manifest %s on %s: %w", final, dname, err)
	}
	res.ManifestPath, res.ManifestSHA256, res.ManifestEntries = final, hex.EncodeToString(wr.SHA256[:]), n
	return nil
}

// removeOldStates removes the identity states earlier versions kept next
// to the manifests (bound to no history, never read), as the classic
// engine's seed does; writeManifest checked the directories holding them.
func (ac *agentCopy) removeOldStates(ctx context.Context) {
	in := ac.in
	for _, p := range []string{identStatePathOld(in.Set.To, in.MoveID, in.Set.Name), identStatePathPlain(in.Set.To, in.MoveID, in.Set.Name)} {
		_ = ac.base.Remove(ctx, path.Join(stateDirName, sanitizeName(in.MoveID), path.Base(p)))
	}
}

// agentEngine tells whether copies run on the agent engine: the default;
// CopyEngineClassic asks for the path-based engine everywhere.
func (a *Activities) agentEngine() bool { return a.CopyEngine != CopyEngineClassic }

// agentMkdirParents makes dir and its missing parents: beneath the
// deepest existing ancestor, one component at a time, never through a
// symlink below that ancestor.
func agentMkdirParents(ctx context.Context, c *agentLease, dir string) error {
	var missing []string
	base := dir
	for {
		r, err := c.OpenRoot(ctx, base, agentproto.RoleTarget)
		if err == nil {
			defer r.Close(ctx)
			rel := ""
			for i := len(missing) - 1; i >= 0; i-- {
				rel = path.Join(rel, missing[i])
				if err := r.Mkdir(ctx, rel, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("create %s: %w", path.Join(base, rel), err)
				}
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) || base == "/" || len(missing) > 64 {
			return err
		}
		missing = append(missing, path.Base(base))
		base = path.Dir(base)
	}
}
