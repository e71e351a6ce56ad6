package memlimit

import (
	"os"
	"runtime/debug"
)

// Worker is the soft limit of `umzug worker`. The copy engine's live heap
// at 200,000 files is about 90 MiB (mostly the file identities a seed
// records); without a limit the collector lets the heap grow to twice the
// live size before it runs.
const Worker = 192 << 20

// Apply sets limit as the process's soft memory limit unless GOMEMLIMIT
// says otherwise. It is soft: a heap that needs more gets more, collected
// more often.
func Apply(limit int64) {
	if os.Getenv("GOMEMLIMIT") != "" || limit <= 0 {
		return
	}
	debug.SetMemoryLimit(limit)
}
