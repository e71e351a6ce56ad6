package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	historypb "go.temporal.io/api/history/v1"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/workflows"
)

// Evidence is one workflow's exported history, its report, the manifests
// fetched for it and, for a wave, the same for every move in it.
type Evidence struct {
	History *historypb.History
	Report  *Report
	// ReplayErr says why the history does not replay against this build.
	ReplayErr error
	// Files maps bundle-relative manifest file names to their content.
	Manifests map[string][]byte
	Moves     []*Evidence
	// Record is what rendering needs beyond the history; Report is always
	// derived from History and Record (reportFrom).
	Record RenderRecord
}

// NewEvidence builds the report of a history and replays it.
func NewEvidence(id string, h *historypb.History) (*Evidence, error) {
	e := &Evidence{History: h, Manifests: map[string][]byte{},
		Record: RenderRecord{Renderer: RendererVersion, WorkflowID: id}}
	e.ReplayErr = Replay(h, id)
	return e, e.rederive()
}

// rederive builds Report from History and Record again.
func (e *Evidence) rederive() error {
	rep, err := reportFrom(e.History, e.Record, e.ReplayErr)
	if err != nil {
		return err
	}
	e.Report = rep
	return nil
}

// ApplyRunningStatus records the status query's answer for a move that
// has not closed, collected at asOf, and derives the report again.
func (e *Evidence) ApplyRunningStatus(st workflows.Status, asOf time.Time) error {
	if e.Report.Closed {
		return nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode status of %s: %w", e.Record.WorkflowID, err)
	}
	at := asOf.UTC().Truncate(time.Second)
	e.Record.RunningStatus, e.Record.AsOf = b, &at
	return e.rederive()
}

// SetFailedBackBy records the failback found for a move.
func (e *Evidence) SetFailedBackBy(id string) error {
	e.Record.FailedBackBy = id
	return e.rederive()
}

// ManifestSource reads a manifest file from a host; it also returns the
// fingerprint of the host key it verified ("" when not over SSH).
type ManifestSource interface {
	ReadFile(ctx context.Context, h contract.Host, path string) (data []byte, fingerprint string, err error)
}

// maxManifest bounds what is read of one manifest (a JSON line per entry).
const maxManifest = 1 << 30

// SSHManifests reads manifests over SFTP through the activities' dialer,
// so the host key is checked against the host's known_hosts file exactly
// as for the copy itself.
type SSHManifests struct {
	Dialer activities.Dialer // nil: activities.DefaultDialer
}

// ReadFile implements ManifestSource.
func (s SSHManifests) ReadFile(ctx context.Context, h contract.Host, p string) ([]byte, string, error) {
	d := s.Dialer
	if d == nil {
		d = activities.DefaultDialer{}
	}
	conn, err := d.Dial(ctx, h)
	if err != nil {
		return nil, "", err
	}
	defer conn.Close()
	sc, err := conn.SFTP()
	if err != nil {
		return nil, "", fmt.Errorf("open SFTP to %s: %w", h.Name, err)
	}
	f, err := sc.Open(p)
	if err != nil {
		return nil, "", fmt.Errorf("open %s on %s: %w", p, h.Name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, "", fmt.Errorf("read %s on %s: %w", p, h.Name, err)
	}
	if len(b) > maxManifest {
		return nil, "", fmt.Errorf("%s on %s is larger than %d bytes", p, h.Name, maxManifest)
	}
	return b, conn.Fingerprint, nil
}

// FetchManifests reads every manifest named in the copy results from the
// move's target host and records whether it matches the digest in
// history. A manifest that cannot be read is noted, not fatal: the report
// then says it was not fetched.
func (e *Evidence) FetchManifests(ctx context.Context, src ManifestSource) {
	for _, m := range e.Moves {
		m.FetchManifests(ctx, src)
	}
	r := e.Report
	if r.in == nil {
		return
	}
	var hostErr error // one unreachable host is not dialled again
	for i := range r.Manifests {
		m := &r.Manifests[i]
		if hostErr != nil {
			m.Note = hostErr.Error()
			continue
		}
		host := r.in.Target
		for _, set := range r.in.Copies {
			if set.Name == m.Set {
				_, host = workflows.CopyHosts(*r.in, set)
			}
		}
		b, fp, err := src.ReadFile(ctx, host, m.Path)
		var de *activities.DialError
		if errors.As(err, &de) {
			hostErr = err
		}
		if err != nil {
			m.Note = err.Error()
			continue
		}
		m.Fetched, m.HostKey = true, fp
		m.File = manifestFile(*m)
		if r.preflight != nil && fp != "" && host.Name == r.in.Target.Name && fp != r.preflight.TargetFingerprint {
			m.Note = fmt.Sprintf("target host key is now %s, preflight verified %s", fp, r.preflight.TargetFingerprint)
		}
		sum := sha256.Sum256(b)
		m.Matched = hex.EncodeToString(sum[:]) == m.SHA256
		e.Manifests[m.File] = b
	}
	e.Record.Manifests = append([]Manifest(nil), r.Manifests...)
}

// manifestFile names a manifest inside a bundle; set and phase make it
// unique within a move.
func manifestFile(m Manifest) string {
	return path.Join("manifests", safeName(m.Set)+"-"+safeName(m.Phase)+".jsonl")
}
