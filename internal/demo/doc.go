// Package demo builds the two demo data centers for `umzug demo` and the
// end-to-end tests: a Paderborn and a Lemgo SSH/SFTP server on loopback,
// each with its own persisted host key, a generated client key, a
// known_hosts file, stand-in `financectl` and `printctl` service scripts (one script, servicectl.sh), and a realistic
// finance share on the source.
package demo
