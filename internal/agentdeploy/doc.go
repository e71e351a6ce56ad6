// Package agentdeploy brings umzug-agent to a host over an SSH connection
// and starts it there.
//
// The worker keeps the agent binaries (umzug-agent-linux-<arch>, or
// umzug-agent for its own architecture) in a configured directory or next
// to its own executable; Locator finds the one for the host's `uname -m`.
// Start uploads it once per content digest to a private directory of the
// login user (~/.umzug/agent/<sha256-prefix>/umzug-agent: every directory
// 0700, checked by lstat over SFTP from / down to the file: no symlink,
// owned by root or the user, not writable by group or others), reads the
// remote file back before every start and compares its SHA-256 with the
// worker's copy (a mismatch is uploaded again once, then refused), and
// runs `'<path>' serve` in an exec session, returning the handshaken
// agentclient.Client. A host that names an administrator-installed path
// (noexec homes) gets no upload, only the same digest check and a
// `version` check. With Options.Sudo (a host's become = "sudo") the
// agent runs as root through `sudo -n '<path>' serve`.
package agentdeploy
