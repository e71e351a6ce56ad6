// Package decisionsig builds the canonical statement a person signs with
// their own SSH key to approve, reject, commit, roll back or confirm a
// move, and checks such a signature against an allowed_signers file. It
// is pure (no files, no clock): the workflow verifies with it
// deterministically, the CLI signs with it, and the audit re-checks
// recorded decisions offline.
package decisionsig
