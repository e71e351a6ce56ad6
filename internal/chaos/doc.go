// Package chaos is the fault-injection suite behind docs/reliability.md.
//
// The suite itself lives in test files under the build tag chaos: it
// drives `umzug dev --db FILE` as a separate process (so it can be killed
// with SIGKILL or restarted gracefully) against real OpenSSH sshd on
// loopback, injects faults (killed worker, restarted server, cut SSH
// link, full target, changed host key, crafted source trees) and checks
// after every run that no byte was lost or foreign and nothing was written
// outside the copy root. This package's non-test code is what the suite
// needs at run time: a TCP proxy that counts and cuts connections, and
// the table writer for docs/reliability.md.
//
//	go test -tags chaos -run Chaos -timeout 30m ./internal/chaos -chaos.full
package chaos
