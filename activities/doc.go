// Package activities holds umzug's side effects: SSH sessions with host-key
// verification, the SFTP-to-SFTP copy engine, remote commands and checks.
//
// Inputs carry host addresses and key *paths*, never key material, because
// activity inputs and results are stored in workflow history. Results carry
// counts and digests; per-file manifests are written to the target host.
package activities
