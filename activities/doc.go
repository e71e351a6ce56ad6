// Package activities holds umzug's side effects: SSH sessions with host-key
// verification, the SFTP-to-SFTP copy engine, remote commands and checks.
//
// Inputs carry host addresses and key *paths*, never key material, because
// activity inputs and results are stored in workflow history. Results carry
// counts and digests; per-file manifests are written to the target host.
//
// Cutover commands run detached on their host under a recorded process
// group, with attempt records that make a retried activity take over the
// run instead of starting it twice (remote_exec.go). Secret values are
// resolved on the worker and reach the remote shell on stdin only
// (secrets.go).
//
// The inputs, results, names and error types are declared in package
// contract, which the workflows import instead of this package;
// types.go gives them their short names here as aliases.
package activities
