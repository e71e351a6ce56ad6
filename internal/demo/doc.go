// Package demo builds the two demo data centers for `umzug demo` and the
// end-to-end tests: a Paderborn and a Lemgo SSH/SFTP server on loopback,
// each with its own persisted host key, a generated client key, a
// known_hosts file, the stand-in service scripts `financectl` and
// `printctl` (servicectl.sh under two names), and a realistic finance
// share on the source.
package demo
