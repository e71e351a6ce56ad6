package activities

import (
	"fmt"
	"io"
	"time"

	"github.com/umzug-dev/umzug/internal/mirror"
)

// Options tune the copy engine of an Activities value. The zero value
// means the defaults below, which were measured on small and large trees
// (bench/README.md); a worker passes its own values, tests theirs.
type Options struct {
	// Conns is how many SSH connections (each with its own SFTP session,
	// hence its own sftp-server process on OpenSSH) a copy opens per host
	// once there is data to move; 0 means DefaultConns, at most MaxConns.
	Conns int
	// Concurrency is how many files are in flight when the copy set does
	// not say; 0 means DefaultConcurrency.
	Concurrency int
	// NoProgress bounds how long a copy attempt may move nothing before
	// it fails (retryable) and starts again on fresh connections; 0 means
	// DefaultNoProgress.
	NoProgress time.Duration
	// Trace receives the copy's phase timings, one line each; nil means
	// none.
	Trace io.Writer
	// StripeFrom is the file size from which a file is copied over every
	// SSH connection at once and, with verify = "sha256", hashed on the
	// target as it lands; 0 means 64 MiB.
	StripeFrom int64
	// StripeBytes is how much landed data the target hashes at a time
	// (rounded to 2 MiB chunks); 0 means 32 MiB.
	StripeBytes int64
}

// Copy engine defaults. Two cores measured here: 16 files in flight keep
// both SSH connections busy on trees of small files; 2 connections per
// side spread the encryption over the cores.
const (
	DefaultConcurrency = 16
	DefaultConns       = 2
	MaxConns           = 8
)

// conns is the number of connections per side.
func (o Options) conns() int {
	if o.Conns > 0 {
		return min(o.Conns, MaxConns)
	}
	return DefaultConns
}

// concurrency is the files in flight for a copy set asking for n (0:
// not said).
func (o Options) concurrency(n int) int {
	switch {
	case n > 0:
		return n
	case o.Concurrency > 0:
		return o.Concurrency
	}
	return DefaultConcurrency
}

// noProgress is the copy's no-progress bound.
func (o Options) noProgress() time.Duration {
	if o.NoProgress > 0 {
		return o.NoProgress
	}
	return DefaultNoProgress
}

// tracef writes one line of phase timings when tracing is on.
func (o Options) tracef(f string, a ...any) {
	if o.Trace != nil {
		fmt.Fprintf(o.Trace, "umzug copy: "+f+"\n", a...)
	}
}

// copyHooks let tests force code paths that a real host decides. They
// live on an Activities value (unexported, so only this package's tests
// set them) and are never set in production.
type copyHooks struct {
	forceReadBack   bool                                // verify by reading back even where sha256sum exists
	afterPlace      func(rel string)                    // called after each file is renamed into place
	beforeCopy      func(rel string)                    // called before each file is opened
	afterList       func(rel string)                    // called when the walk takes up a listed source directory
	afterOpen       func(rel string)                    // called once a file's source handles are open (streamed files: and checked)
	freeBytes       int64                               // pretend the target has this much free space
	beforeBatch     func(rels []string)                 // called before a tar batch's streams start
	afterBatch      func(placed []string)               // called with the files a tar batch placed
	beforeCommit    func(staging string, rels []string) // called before the worker commits a landed batch
	batchMin        int                                 // smallest batch, instead of batchMinFiles (tests with small trees)
	wrapAgentTarget func(mirror.Side) mirror.Side       // wraps the agent engine's target side
}

// call runs a hook if it is set.
func call(h func(string), rel string) {
	if h != nil {
		h(rel)
	}
}
