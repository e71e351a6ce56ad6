// Package plans reads umzug plans written in HCL (native or JSON syntax)
// and returns a validated, typed Plan together with every diagnostic found,
// each with a source range. It does no I/O beyond reading plan files.
package plans
