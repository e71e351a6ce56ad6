package refusal

// Kinds of refusal: why a source entry was not copied.
const (
	Unreadable      = "unreadable"       // a file or directory the SSH user cannot read or list
	EscapingSymlink = "escaping_symlink" // absolute, or resolving outside the copy root
	Device          = "device"           // block or character device
	Socket          = "socket"
	FIFO            = "fifo"
	ReservedName    = "reserved_name" // .umzug-tmp.* names are the engine's temporary files
	BadName         = "bad_name"      // a name the target cannot hold
	Changed         = "changed"       // type or identity changed between listing and reading
	// TargetConflict: the source entry is now a file or symlink where the
	// target has a directory holding entries of its own, which a copy
	// without delete never removes.
	TargetConflict = "target_conflict"
)

// Kinds lists every kind, in the order the documentation gives them.
var Kinds = []string{
	Unreadable, EscapingSymlink, Device, Socket, FIFO, ReservedName, BadName, Changed,
	TargetConflict,
}

// Known reports whether kind is one of Kinds.
func Known(kind string) bool {
	for _, k := range Kinds {
		if k == kind {
			return true
		}
	}
	return false
}
