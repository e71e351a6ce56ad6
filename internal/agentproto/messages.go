package agentproto

import (
	"fmt"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Hello is the agent's first frame.
type Hello struct {
	Proto        uint16
	AgentVersion string
	GOOS, GOARCH string
	UID, EUID    uint32
	Openat2      bool // names are resolved with openat2 (else the O_NOFOLLOW walk)
}

func (h Hello) Encode() []byte {
	var e Enc
	e.U16(h.Proto)
	e.Str(h.AgentVersion)
	e.Str(h.GOOS)
	e.Str(h.GOARCH)
	e.U32(h.UID)
	e.U32(h.EUID)
	e.Bool(h.Openat2)
	return e.B
}

// DecodeHello decodes a Hello; the protocol version is read first so that
// a mismatch is reported as such even if the rest changed shape.
func DecodeHello(p []byte) (Hello, error) {
	d := Dec{B: p}
	var h Hello
	h.Proto = d.U16()
	if d.Err() == nil && h.Proto != Version {
		return h, fmt.Errorf("agent speaks protocol version %d, this umzug speaks %d: upload the umzug-agent of this umzug release", h.Proto, Version)
	}
	h.AgentVersion = d.Str(256)
	h.GOOS = d.Str(64)
	h.GOARCH = d.Str(64)
	h.UID = d.U32()
	h.EUID = d.U32()
	h.Openat2 = d.Bool()
	return h, d.Done()
}

// Role is what a root is opened for: a source root refuses every change.
type Role uint8

const (
	RoleSource Role = 1
	RoleTarget Role = 2
)

func (r Role) String() string {
	switch r {
	case RoleSource:
		return "source"
	case RoleTarget:
		return "target"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Request is every request's payload; each op reads the fields it needs
// (listed at the constants in the client) and ignores the rest.
type Request struct {
	Root      uint32 // handle from OpenRoot
	Rel       string // name below the root ("" is the root)
	Path      string // OpenRoot: absolute root path; Symlink: link target
	Role      Role   // OpenRoot
	Recursive bool   // List, Remove
	Expect    *rootfs.Identity
	Offset    int64 // Read
	Length    int64 // Read; -1 to the end
	Mode      uint32
	Meta      rootfs.Meta // Write, SetMeta
	Fsync     bool        // Write
	Target    uint32      // Cancel: the id of the request to cancel
	Big                   // Sums, WriteRange, CommitPartial (ranges.go)
}

func encMeta(e *Enc, m rootfs.Meta) {
	e.Bool(m.SetOwner)
	e.U32(m.UID)
	e.U32(m.GID)
	e.Bool(m.SetMode)
	e.U32(m.Mode)
	e.Bool(m.SetTimes)
	e.I64(m.AtimeNs)
	e.I64(m.MtimeNs)
}

func decMeta(d *Dec) rootfs.Meta {
	return rootfs.Meta{SetOwner: d.Bool(), UID: d.U32(), GID: d.U32(), SetMode: d.Bool(), Mode: d.U32(),
		SetTimes: d.Bool(), AtimeNs: d.I64(), MtimeNs: d.I64()}
}

func (r *Request) Encode() []byte {
	e := Enc{B: make([]byte, 0, 128+len(r.Rel)+len(r.Path))}
	e.U32(r.Root)
	e.Str(r.Rel)
	e.Str(r.Path)
	e.U8(uint8(r.Role))
	e.Bool(r.Recursive)
	e.Bool(r.Expect != nil)
	if r.Expect != nil {
		e.U64(r.Expect.Dev)
		e.U64(r.Expect.Ino)
		e.I64(r.Expect.Size)
		e.I64(r.Expect.MtimeNs)
	}
	e.I64(r.Offset)
	e.I64(r.Length)
	e.U32(r.Mode)
	encMeta(&e, r.Meta)
	e.Bool(r.Fsync)
	e.U32(r.Target)
	r.Big.enc(&e)
	return e.B
}

// DecodeRequest decodes a request payload.
func DecodeRequest(p []byte) (Request, error) {
	d := Dec{B: p}
	var r Request
	r.Root = d.U32()
	r.Rel = d.Str(rootfs.MaxNameLen)
	r.Path = d.Str(rootfs.MaxNameLen)
	r.Role = Role(d.U8())
	r.Recursive = d.Bool()
	if d.Bool() {
		r.Expect = &rootfs.Identity{Dev: d.U64(), Ino: d.U64(), Size: d.I64(), MtimeNs: d.I64()}
	}
	r.Offset = d.I64()
	r.Length = d.I64()
	r.Mode = d.U32()
	r.Meta = decMeta(&d)
	r.Fsync = d.Bool()
	r.Target = d.U32()
	r.Big = decBig(&d)
	return r, d.Done()
}

// EncodeEntry appends one entry; Name is relative to the root.
func EncodeEntry(e *Enc, i rootfs.Info) {
	e.Str(i.Name)
	e.U8(uint8(i.Type))
	e.U32(i.Mode)
	e.U32(i.UID)
	e.U32(i.GID)
	e.I64(i.Size)
	e.I64(i.MtimeNs)
	e.I64(i.CtimeNs)
	e.U64(i.Ino)
	e.U64(i.Dev)
	e.U64(i.Nlink)
}

// EntrySize is an upper bound of EncodeEntry's bytes for a name.
func EntrySize(name string) int { return 4 + len(name) + 1 + 3*4 + 6*8 }

func decodeEntry(d *Dec) rootfs.Info {
	return rootfs.Info{Name: d.Str(rootfs.MaxNameLen), Type: rootfs.Type(d.U8()), Mode: d.U32(), UID: d.U32(), GID: d.U32(),
		Size: d.I64(), MtimeNs: d.I64(), CtimeNs: d.I64(), Ino: d.U64(), Dev: d.U64(), Nlink: d.U64()}
}

// DecodeEntries calls fn for each entry of an Entries payload
// (uint32 count, then the entries).
func DecodeEntries(p []byte, fn func(rootfs.Info) error) error {
	d := Dec{B: p}
	n := d.U32()
	// Each entry takes at least EntrySize("") bytes: a count the payload
	// cannot hold is refused before the loop.
	if d.Err() == nil && int64(n)*int64(EntrySize("")) > int64(len(d.B)) {
		return fmt.Errorf("agent protocol: entries frame claims %d entries in %d bytes", n, len(d.B))
	}
	for range n {
		i := decodeEntry(&d)
		if d.Err() != nil {
			return d.Err()
		}
		if err := fn(i); err != nil {
			return err
		}
	}
	return d.Done()
}

// Result is every request's final success payload; each op fills what it
// answers.
type Result struct {
	Root    uint32        // OpenRoot: the handle
	Entry   rootfs.Info   // OpenRoot, Lstat; Read and Hash: the file at open
	Size    int64         // Read, Hash, Write: bytes read or written
	SHA256  [32]byte      // Read, Hash, Write
	Changed bool          // Read, Hash: size, mtime or ctime moved while read
	Target  string        // Readlink
	Count   uint64        // List: entries sent
	Openat2 bool          // OpenRoot
	Statfs  rootfs.Statfs // Statfs
	Sums    [][32]byte    // Sums: one digest per chunk
}

func (r *Result) Encode() []byte {
	e := Enc{B: make([]byte, 0, 256+len(r.Entry.Name)+len(r.Target))}
	e.U32(r.Root)
	EncodeEntry(&e, r.Entry)
	e.I64(r.Size)
	e.B = append(e.B, r.SHA256[:]...)
	e.Bool(r.Changed)
	e.Str(r.Target)
	e.U64(r.Count)
	e.Bool(r.Openat2)
	s := r.Statfs
	for _, v := range []uint64{s.BlockSize, s.Blocks, s.BlocksFree, s.Files, s.FilesFree, s.NameMax} {
		e.U64(v)
	}
	e.I64(s.FsType)
	encSums(&e, r.Sums)
	return e.B
}

// DecodeResult decodes a Result payload.
func DecodeResult(p []byte) (Result, error) {
	d := Dec{B: p}
	var r Result
	r.Root = d.U32()
	r.Entry = decodeEntry(&d)
	r.Size = d.I64()
	copy(r.SHA256[:], d.take(32))
	r.Changed = d.Bool()
	r.Target = d.Str(rootfs.MaxNameLen)
	r.Count = d.U64()
	r.Openat2 = d.Bool()
	r.Statfs = rootfs.Statfs{BlockSize: d.U64(), Blocks: d.U64(), BlocksFree: d.U64(), Files: d.U64(),
		FilesFree: d.U64(), NameMax: d.U64(), FsType: d.I64()}
	r.Sums = decSums(&d)
	return r, d.Done()
}

// Code classifies an Error so the client can map it to a typed error.
type Code uint8

const (
	CodeOther Code = iota
	CodeNotExist
	CodeExist
	CodeIdentity    // rootfs.ErrIdentityMismatch
	CodeOutsideRoot // rootfs.ErrOutsideRoot
	CodeInvalidName // rootfs.ErrInvalidName
	CodeSymlink     // a symlink where a directory or file was needed (ELOOP)
	CodeNotDir
	CodeIsDir
	CodeNotEmpty
	CodePermission
	CodeNoSpace
	CodeReadOnlyRoot // a change asked of a source root
	CodeCanceled
	CodeProtocol
	CodeDirMoved   // rootfs.ErrDirMoved
	CodeReadOnlyFS // EROFS: the file system is mounted read-only
)

// Error is a request's final failure payload.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Encode() []byte {
	var c Enc
	c.U8(uint8(e.Code))
	c.Str(e.Message)
	return c.B
}

// DecodeError decodes an Error payload.
func DecodeError(p []byte) (Error, error) {
	d := Dec{B: p}
	e := Error{Code: Code(d.U8()), Message: d.Str(MaxString)}
	return e, d.Done()
}
