package contract

// Refusal kinds: why a source entry was not copied. A copy fails when it
// refused an entry whose kind the copy set does not accept, so a move never
// commits while the target lacks something it was not told to leave out.
const (
	RefusalUnreadable      = "unreadable"       // a file or directory the SSH user cannot read or list
	RefusalEscapingSymlink = "escaping_symlink" // absolute, or resolving outside the copy root
	RefusalDevice          = "device"           // block or character device
	RefusalSocket          = "socket"
	RefusalFIFO            = "fifo"
	RefusalReservedName    = "reserved_name" // .umzug-tmp.* names are the engine's temporary files
	RefusalBadName         = "bad_name"      // a name the target cannot hold
	RefusalChanged         = "changed"       // type or identity changed between listing and reading
	// RefusalTargetConflict: the source entry is now a file or symlink
	// where the target has a directory holding entries of its own, which
	// a copy without delete never removes.
	RefusalTargetConflict = "target_conflict"
	// RefusalUnsafeTarget: a directory of the target tree (or the parent
	// of To) that someone other than the SSH user or root can write, on a
	// target that runs no commands (SFTP only), where umzug writes by
	// path. Refused before anything is written; accepted, the copy goes on
	// with SFTP's weaker guarantees.
	RefusalUnsafeTarget = "unsafe_target"
	// RefusalUnknownOwner: the entry's owner or group (or a user or group
	// named in its ACL) has a name the target's user database does not
	// know, and owner_map does not map it. Accepted, the number is kept.
	RefusalUnknownOwner = "unknown_owner"
	// RefusalMetadata: the target could not take the entry's owner, ACL or
	// extended attributes, or a hard link (a login that cannot chown, a
	// file system without ACLs or extended attributes, a link refused for
	// another file system or too many links). Accepted, the entry is copied
	// without them (a refused link as a file of its own).
	RefusalMetadata = "metadata"
)

// RefusalKinds lists every refusal kind, in the order the documentation
// gives them; the plan loader validates accept_refusals against it.
var RefusalKinds = []string{
	RefusalUnreadable, RefusalEscapingSymlink, RefusalDevice, RefusalSocket, RefusalFIFO,
	RefusalReservedName, RefusalBadName, RefusalChanged, RefusalTargetConflict, RefusalUnsafeTarget,
	RefusalUnknownOwner, RefusalMetadata,
}

// KnownRefusal reports whether kind is one of RefusalKinds.
func KnownRefusal(kind string) bool {
	for _, k := range RefusalKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Refusal is one source entry that was not copied.
type Refusal struct {
	Path     string `json:"path"` // relative to the copy root
	Kind     string `json:"kind"` // a Refusal* constant
	Reason   string `json:"reason"`
	Accepted bool   `json:"accepted,omitempty"` // the copy set accepts this kind
}
