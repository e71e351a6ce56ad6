// Package pki issues small X.509 hierarchies: the embedded server's
// in-memory identity for its own clients, and the CAs and certificates
// the TLS tests run with.
package pki
