// Package accounts reads a host's user and group database from its
// passwd and group files (the files themselves, never NSS through cgo), so
// that owners travel between hosts by name.
package accounts
