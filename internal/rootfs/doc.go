// Package rootfs is a root-bound view of a local directory tree: every
// operation below the root goes through directory file descriptors opened
// from the root, never through a path lookup the kernel may resolve
// differently the next time.
//
// Names below the root are relative, slash-separated, without ".", ".."
// or empty components. On Linux 5.6+ a name is resolved with openat2 and
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS; on older
// kernels with a walk that opens one component at a time with O_NOFOLLOW.
// Either way a symlink anywhere in a name fails the lookup, so a local user
// who swaps a directory for a symlink while root works cannot steer a read or
// a write outside the root. New files are written into a handle of their
// parent directory (O_TMPFILE, else an O_EXCL temporary name) and renamed
// into place within that same handle. Reads check the opened file's identity
// (device, inode, size, mtime) against what a listing saw, so a directory
// exchanged for a twin between listing and reading yields ErrIdentityMismatch
// instead of the twin's bytes.
//
// The types in this file set build everywhere; Root itself is Linux-only.
package rootfs
