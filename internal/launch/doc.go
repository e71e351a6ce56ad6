// Package launch turns a loaded plan into workflow inputs and starts
// moves and waves on a Temporal cluster. It is shared by `umzug run`,
// `umzug demo` and the end-to-end tests, so all three start moves the same
// way.
package launch
