// Package realsshd starts Debian's OpenSSH sshd on a free 127.0.0.1 port
// with its own configuration, host key and authorized_keys, for the interop
// lane and the benchmarks. Nothing of the system's sshd configuration is
// used, and the daemon dies with the test process.
package realsshd
