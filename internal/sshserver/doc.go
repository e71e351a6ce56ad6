// Package sshserver is a small SSH server that runs inside the umzug process.
// `umzug demo` uses it to play the two data centers on loopback, and tests use
// it instead of a system sshd.
//
// It behaves like OpenSSH for the parts umzug relies on: public-key
// authentication only, `exec` requests run through /bin/sh -c with a real exit
// status (or exit signal), and the `sftp` subsystem serves the real local
// filesystem (absolute paths are real paths, no chroot) with the
// posix-rename, statvfs and hardlink extensions. Anything that works against
// it is meant to work against sshd.
package sshserver
