package activities

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pkg/sftp"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// The manifest of a copy lives in a state directory on the target host,
// next to the copy root rather than inside it (the target root must end up
// equal to the source):
//
//	<parent of To>/.umzug/<sanitized MoveID>/<set>-<phase>.jsonl
//
// One JSON object per line, one line per entry (file, dir, symlink), in
// completion order. History keeps only the path, entry count and SHA-256.
//
// Names are recorded losslessly. JSON strings hold Unicode only, so a path
// (or symlink target) that is not valid UTF-8 is written twice: "path"
// with each invalid byte replaced by U+FFFD, for people, and "path_b64"
// with the exact bytes in standard base64, for programs; likewise "link"
// and "link_b64". A reader takes the _b64 field when present:
//
//	{"path":"caf\ufffd.txt","path_b64":"Y2Fm6S50eHQ=","type":"file",...}
//
// The state directory and the move's directory in it are created one
// component at a time and never through a symlink: the copy refuses to
// run when either is a symlink or not a directory.
const stateDirName = ".umzug"

// manifestEntry is one line of a manifest.
type manifestEntry struct {
	Path    string `json:"path"`
	PathB64 string `json:"path_b64,omitempty"` // exact bytes when Path is not valid UTF-8
	Type    string `json:"type"`               // "file", "dir" or "symlink"
	Size    int64  `json:"size"`
	Mode    string `json:"mode"` // octal permission bits, e.g. "0640"
	Mtime   int64  `json:"mtime"`
	SHA256  string `json:"sha256,omitempty"` // files; empty for unchanged files under verify = "size_mtime"
	Link    string `json:"link,omitempty"`
	LinkB64 string `json:"link_b64,omitempty"` // exact bytes when Link is not valid UTF-8
	// Owner and Group are the names the target gives the entry (numbers
	// where it has none); ACL and DefaultACL the POSIX ACLs in short text
	// form; Xattrs the SHA-256 of the carried extended attributes (names
	// and values, ACLs included). The agent engine records what its
	// metadata pass verified; empty where nothing was recorded.
	Owner      string `json:"owner,omitempty"`
	Group      string `json:"group,omitempty"`
	ACL        string `json:"acl,omitempty"`
	DefaultACL string `json:"default_acl,omitempty"`
	Xattrs     string `json:"xattrs_sha256,omitempty"`
	// HardLink names the first entry of the manifest that is the same
	// file (a hard link of one inode); agent engine only.
	HardLink    string `json:"hardlink,omitempty"`
	HardLinkB64 string `json:"hardlink_b64,omitempty"`
}

// name returns the entry's path exactly as on disk.
func (m manifestEntry) name() string { return exactName(m.Path, m.PathB64) }

// target returns the symlink target exactly as on disk.
func (m manifestEntry) target() string { return exactName(m.Link, m.LinkB64) }

func exactName(s, b64 string) string {
	if b64 == "" {
		return s
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return s
	}
	return string(b)
}

// lossless returns s for JSON and, when JSON cannot hold it as is, its
// exact bytes in base64.
func lossless(s string) (text, b64 string) {
	if utf8.ValidString(s) {
		return s, ""
	}
	return strings.ToValidUTF8(s, "\uFFFD"), base64.StdEncoding.EncodeToString([]byte(s))
}

func manifestOf(rel string, fi os.FileInfo, sum, link string) manifestEntry {
	me := manifestEntry{
		Type: manifestType(fi.Mode()), Mode: fmt.Sprintf("%04o", uint32(fi.Mode().Perm())),
		Mtime: fi.ModTime().Unix(), SHA256: sum,
	}
	me.Path, me.PathB64 = lossless(rel)
	me.Link, me.LinkB64 = lossless(link)
	if fi.Mode().IsRegular() {
		me.Size = fi.Size()
	}
	return me
}

// sanitizeName keeps [A-Za-z0-9._-] and replaces everything else, so a
// MoveID like "umzug/plan/app" becomes one safe path element.
func sanitizeName(s string) string {
	if s == "" {
		return "adhoc"
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if strings.Trim(out, ".") == "" {
		out = strings.ReplaceAll(out, ".", "_")
	}
	return out
}

// manifestPath returns where the manifest of a copy goes on the target.
func manifestPath(to, moveID, set, phase string) string {
	return path.Join(path.Dir(path.Clean(to)), stateDirName, sanitizeName(moveID), sanitizeName(set)+"-"+sanitizeName(phase)+".jsonl")
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// manifestWriter streams lines to a temporary file on the target and
// renames it into place when the copy succeeded; the digest is computed
// over exactly the bytes written.
type manifestWriter struct {
	mu    sync.Mutex
	cl    *sftp.Client
	host  string
	final string
	tmp   string
	f     *sftp.File
	aw    *asyncWriter // writes to f in the background
	bw    *bufio.Writer
	h     hash.Hash
	n     int64
	err   error
}

// mkdirNoFollow makes base/<elems...> exist as real directories, creating
// each missing component with Mkdir and checking each with Lstat, so the
// state directory never lands where a symlink points. base is the parent
// of `to` and the state directory's parent: <base>/.umzug/<move>.
func mkdirNoFollow(cl *sftp.Client, host, base string, elems ...string) error {
	p := base
	for _, el := range elems {
		p = path.Join(p, el)
		fi, err := cl.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			if err = cl.Mkdir(p); err != nil && !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("create state directory %s on %s for the copy manifest: %w (the copy root's parent must be writable by the SSH user)", p, host, err)
			}
			fi, err = cl.Lstat(p)
		}
		if err != nil {
			return fmt.Errorf("stat state directory %s on %s: %w", p, host, err)
		}
		if !fi.IsDir() {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"state directory %s on %s is a %s, not a directory; umzug does not write its manifests through it: remove it or point `to` elsewhere",
				p, host, kindName(fi.Mode())), contract.ErrCopyRefused, nil)
		}
	}
	return nil
}

func openManifest(cl *sftp.Client, host, final string) (*manifestWriter, error) {
	dir := path.Dir(final)
	if err := mkdirNoFollow(cl, host, path.Dir(path.Dir(dir)), path.Base(path.Dir(dir)), path.Base(dir)); err != nil {
		return nil, err
	}
	// A crashed attempt of this same copy may have left its temporary
	// manifest; only one attempt of a move's set and phase runs at a time.
	stale := tmpPrefix + path.Base(final) + "."
	if ents, err := cl.ReadDir(dir); err == nil {
		for _, fi := range ents {
			if strings.HasPrefix(fi.Name(), stale) && fi.Mode().IsRegular() {
				_ = cl.Remove(path.Join(dir, fi.Name()))
			}
		}
	}
	tmp := path.Join(dir, stale+randomSuffix())
	f, err := cl.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, fmt.Errorf("create manifest %s on %s: %w", tmp, host, err)
	}
	h := sha256.New()
	aw := newAsyncWriter(f)
	return &manifestWriter{cl: cl, host: host, final: final, tmp: tmp, f: f, h: h,
		aw: aw, bw: bufio.NewWriterSize(aw, 1<<16)}, nil
}

func (m *manifestWriter) add(e manifestEntry) {
	if m == nil {
		return
	}
	line, ok := appendManifestLine(make([]byte, 0, 192), e)
	if !ok {
		var err error
		if line, err = json.Marshal(e); err != nil {
			panic(err) // only strings and ints: cannot fail
		}
	}
	line = append(line, '\n')
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return
	}
	if _, err := m.bw.Write(line); err != nil {
		m.err = fmt.Errorf("write manifest %s on %s: %w", m.tmp, m.host, err)
		return
	}
	m.h.Write(line)
	m.n++
}

// commit flushes, closes and renames the manifest into place.
func (m *manifestWriter) commit() (digest string, entries int64, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		m.abortLocked()
		return "", 0, m.err
	}
	if err := firstErr(m.bw.Flush(), m.aw.Close()); err != nil {
		m.abortLocked()
		return "", 0, fmt.Errorf("write manifest %s on %s: %w", m.tmp, m.host, err)
	}
	if err := m.f.Close(); err != nil {
		m.abortLocked()
		return "", 0, fmt.Errorf("close manifest %s on %s: %w", m.tmp, m.host, err)
	}
	m.f = nil
	if err := renameReplace(m.cl, m.tmp, m.final); err != nil {
		m.abortLocked()
		return "", 0, fmt.Errorf("rename manifest into place on %s: %w", m.host, err)
	}
	return hex.EncodeToString(m.h.Sum(nil)), m.n, nil
}

// abort removes the temporary manifest of a failed copy.
func (m *manifestWriter) abort() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.abortLocked()
}

func (m *manifestWriter) abortLocked() {
	m.aw.Close()
	if m.f != nil {
		m.f.Close()
		m.f = nil
	}
	_ = m.cl.Remove(m.tmp)
}

// asyncWriter hands what is written to a goroutine that writes it to w,
// so that the workers adding manifest lines under the writer's lock never
// wait for the target's round trips. At most 16 chunks wait.
type asyncWriter struct {
	w      io.Writer
	ch     chan []byte
	free   chan []byte // written buffers, for Write to reuse
	done   chan struct{}
	mu     sync.Mutex
	err    error
	closed bool
}

func newAsyncWriter(w io.Writer) *asyncWriter {
	a := &asyncWriter{w: w, ch: make(chan []byte, 16), free: make(chan []byte, 18), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for b := range a.ch {
			if a.firstErr() == nil {
				if _, err := a.w.Write(b); err != nil {
					a.mu.Lock()
					a.err = err
					a.mu.Unlock()
				}
			}
			select {
			case a.free <- b[:0]:
			default:
			}
		}
	}()
	return a
}

func (a *asyncWriter) firstErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// Write queues a copy of p; an earlier write's error is returned here.
// Written buffers are reused for later copies.
func (a *asyncWriter) Write(p []byte) (int, error) {
	if err := a.firstErr(); err != nil {
		return 0, err
	}
	// Buffers come back once written: fresh memory costs more than the
	// copy on some hosts (page faults), and the queue needs only a few.
	var b []byte
	select {
	case b = <-a.free:
	default:
	}
	a.ch <- append(b, p...)
	return len(p), nil
}

// Close waits for every queued write and returns the first error. It may
// be called more than once, but not concurrently with Write.
func (a *asyncWriter) Close() error {
	if !a.closed {
		a.closed = true
		close(a.ch)
	}
	<-a.done
	return a.firstErr()
}

// appendManifestLine appends e exactly as json.Marshal writes it, for the
// common entry: a file or directory whose strings JSON holds without
// escapes. A final sync writes a line for every file of the tree inside
// the window. ok is false for any other entry.
func appendManifestLine(b []byte, e manifestEntry) ([]byte, bool) {
	if e.PathB64 != "" || e.Link != "" || e.LinkB64 != "" || e.HardLink != "" || e.HardLinkB64 != "" ||
		e.Owner != "" || e.Group != "" || e.ACL != "" || e.DefaultACL != "" || e.Xattrs != "" ||
		!jsonPlain(e.Path) || !jsonPlain(e.Type) || !jsonPlain(e.Mode) || !jsonPlain(e.SHA256) {
		return b, false
	}
	b = append(b, `{"path":"`...)
	b = append(b, e.Path...)
	b = append(b, `","type":"`...)
	b = append(b, e.Type...)
	b = append(b, `","size":`...)
	b = strconv.AppendInt(b, e.Size, 10)
	b = append(b, `,"mode":"`...)
	b = append(b, e.Mode...)
	b = append(b, `","mtime":`...)
	b = strconv.AppendInt(b, e.Mtime, 10)
	if e.SHA256 != "" {
		b = append(b, `,"sha256":"`...)
		b = append(b, e.SHA256...)
		b = append(b, '"')
	}
	return append(b, '}'), true
}

// jsonPlain reports whether json.Marshal writes s unchanged: printable
// ASCII without the characters it escapes.
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
