// Package treecmp compares two local directory trees entry by entry:
// content, mode, mtime, symlink targets and empty directories. Tests and
// the demo use it to prove that a move produced a byte-identical tree.
package treecmp
