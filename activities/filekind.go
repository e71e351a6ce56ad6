package activities

import "io/fs"

// kindName names an entry's type for messages: "directory", "regular
// file", "symlink", "named pipe", "socket", "character device", ...
func kindName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "regular file"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	default:
		return "special file"
	}
}

// manifestType is a manifest entry's "type" field: "dir", "symlink" or
// "file". It is a file format, read back by later syncs and by audits,
// unlike kindName's wording.
func manifestType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	default:
		return "file"
	}
}
