// Package allowedsigners reads OpenSSH allowed_signers files and checks
// SSHSIG signatures against them exactly as `ssh-keygen -Y verify` does:
// principals patterns against the identity, the namespaces, valid-after
// and valid-before options, and cert-authority lines for signatures made
// with OpenSSH user certificates. It is stricter in one respect: a line
// it cannot parse is an error naming file:line, where ssh-keygen skips it.
// The SSHSIG format itself is github.com/hiddeco/sshsig.
package allowedsigners
