package rootfs

import "errors"

// ErrCannotLink says the target refused a hard link for a reason of its
// own (another file system, too many links, no permission, no support):
// the engine reports it rather than failing.
var ErrCannotLink = errors.New("the file system refused the hard link")
