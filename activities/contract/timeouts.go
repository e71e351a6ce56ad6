package contract

import "time"

// DefaultCommandTimeout is what RunCommand applies when a step sets no
// timeout. The workflow sizes the activity's start-to-close timeout from
// the same value, so both sides must read it from here.
const DefaultCommandTimeout = 10 * time.Minute
