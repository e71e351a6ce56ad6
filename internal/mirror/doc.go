// Package mirror is umzug's copy engine, free of Temporal: Run brings a
// target tree up to date with a source tree, each reached through a Side.
//
// A Side is one host's tree below a root it has already opened: the engine
// only names entries relative to that root, and the side resolves every
// name beneath it without following a symlink (LocalSide does so through
// internal/rootfs; an agent on a remote host implements the same calls as
// one request each, streamed where file data flows). Every read is pinned
// to the identity (device, inode, size, mtime) the walk listed, so a
// directory exchanged for a twin between the walk and the read yields a
// refusal of kind "changed", never the twin's bytes.
//
// Run walks the target tree into an index while the source walk fills a
// bounded queue, then passes the source entries through one deciding
// goroutine that creates directories, queues regular
// files for the copy workers (small ones in batches when both sides take
// them, batch.go) and collects symlinks; symlinks, deletes and
// directory metadata (deepest first) follow once the workers are done.
// Every copied file's SHA-256 is computed on the source as read and on the
// target as written, and the two must agree. With verify = "sha256" a seed
// records each verified file's digest with both identities in a private
// state blob on the target side; a later run trusts that state only when
// its bytes hash to the digest the caller kept (Spec.State), and then keeps
// an unchanged file without reading it when both identities still match.
//
// Shared state has one owner each: counters live in tally (atomics), the
// refusal record in refusals, the identity records in stateBuilder; the
// target index, the directory list and the symlink list belong to the
// deciding goroutine alone.
package mirror
