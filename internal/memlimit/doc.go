// Package memlimit gives a standalone worker a soft memory limit, so the
// garbage collector runs before the heap doubles: the copy engine's
// memory on a tree of 200,000 files stays bounded (bench/README.md).
package memlimit
