// Package bench measures umzug's copy engine against rsync and a two-hop
// tar pipe over real OpenSSH daemons on loopback. The benchmarks need
// Debian's sshd and rsync and carry the build tag "interop":
//
//	go test -tags interop ./bench -bench . -run XXX -benchtime 1x [-short]
//
// umzug's side runs in a child process (bench/cmd/umzugcopy) so that its
// peak RSS is measured alone. See README.md for figures.
package bench
