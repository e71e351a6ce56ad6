// Package units formats byte counts and durations for people, one way
// everywhere: workflow status notes, the CLI, reports and errors.
package units
