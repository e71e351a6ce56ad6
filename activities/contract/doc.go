// Package contract is the contract between the workflows and the activity
// implementations: the activity names, their inputs and results, the phase
// and mode constants both sides read, the default timeouts, and the error
// types (temporal ApplicationError.Type) an activity fails with.
//
// It holds plain data only and imports nothing that dials: the workflows
// package compiles against this package alone, so workflow code cannot
// reach SSH, SFTP or the file system, and the activity side can change its
// engine without touching workflow code. Everything here is stored in
// workflow history: JSON field names and error type strings are recorded
// by running and finished moves, and must not change.
package contract
