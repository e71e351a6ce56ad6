package activities

import "github.com/umzug-dev/umzug/activities/contract"

// The activities' inputs, results and constants are declared in package
// contract, which the workflows import instead of this package. The names
// below are aliases of those declarations, not copies: the same types and
// values under their short names inside the implementation.

// Type aliases of the contract's data.
type (
	Host            = contract.Host
	CopySet         = contract.CopySet
	CopyInput       = contract.CopyInput
	CopyResult      = contract.CopyResult
	CopyProgress    = contract.CopyProgress
	Refusal         = contract.Refusal
	IdentState      = contract.IdentState
	CommandInput    = contract.CommandInput
	CommandResult   = contract.CommandResult
	CommandAttempt  = contract.CommandAttempt
	PreflightInput  = contract.PreflightInput
	PreflightResult = contract.PreflightResult
	DeltaEstimate   = contract.DeltaEstimate
	RehashInput     = contract.RehashInput
	RehashResult    = contract.RehashResult
)

// Constant aliases of the contract's phases, modes and refusal kinds.
const (
	VerifySHA256    = contract.VerifySHA256
	VerifySizeMtime = contract.VerifySizeMtime

	PhaseSeed      = contract.PhaseSeed
	PhaseFinalSync = contract.PhaseFinalSync

	RehashNone        = contract.RehashNone
	RehashAfterSwitch = contract.RehashAfterSwitch

	MaxRefusalsListed = contract.MaxRefusalsListed
	SecretEnvPrefix   = contract.SecretEnvPrefix

	RefusalUnreadable      = contract.RefusalUnreadable
	RefusalEscapingSymlink = contract.RefusalEscapingSymlink
	RefusalDevice          = contract.RefusalDevice
	RefusalSocket          = contract.RefusalSocket
	RefusalFIFO            = contract.RefusalFIFO
	RefusalReservedName    = contract.RefusalReservedName
	RefusalBadName         = contract.RefusalBadName
	RefusalChanged         = contract.RefusalChanged
	RefusalTargetConflict  = contract.RefusalTargetConflict
	RefusalUnsafeTarget    = contract.RefusalUnsafeTarget
	RefusalUnknownOwner    = contract.RefusalUnknownOwner
	RefusalMetadata        = contract.RefusalMetadata
)

// RefusalKinds is contract.RefusalKinds (the same slice).
var RefusalKinds = contract.RefusalKinds

// Rehearsal cleanup (contract/cleanup.go).
type (
	CleanupInput  = contract.CleanupInput
	CleanupResult = contract.CleanupResult
)

// ProbeResult is what ProbeHost found (contract/probe.go).
type ProbeResult = contract.ProbeResult
