package contract

// Error types: the temporal ApplicationError.Type of a failure. Each
// identifier is Err followed by its value, so a type seen in history or a
// log names its constant. The values are recorded in workflow histories
// and must not change.
//
// The permanent ones are returned non-retryable: a retry cannot succeed
// until an operator acts, and a move whose source is already stopped
// should roll back at once instead of waiting out the retry policy.
const (
	// Dialing a host (also the Kind of the activities' DialError).
	ErrSSHConfig         = "SSHConfig"         // known_hosts or identity missing
	ErrHostKeyUnknown    = "HostKeyUnknown"    // host key not in known_hosts
	ErrHostKeyChanged    = "HostKeyChanged"    // known_hosts has another key for the host
	ErrHostKeyRevoked    = "HostKeyRevoked"    // key marked @revoked
	ErrSSHAuthFailed     = "SSHAuthFailed"     // the server refused our keys
	ErrSSHConnectFailed  = "SSHConnectFailed"  // refused, timeout, unreachable (retryable)
	ErrSSHHandshakeError = "SSHHandshakeError" // protocol-level failure (retryable)

	// ErrPathDenied: the SSH user may not read or write a path (file
	// permissions, or an SFTP server confined to other directories).
	ErrPathDenied = "PathDenied"

	// Copying.
	ErrCopyRefused = "CopyRefused" // the copy would be unsafe, or refused entries it may not leave out
	// ErrCopyChanged (retryable): a final sync found source entries
	// changing under it; the next attempt lists again.
	ErrCopyChanged        = "CopyChanged"
	ErrVerificationFailed = "VerificationFailed" // a target digest differs from the source's
	ErrTargetNoSpace      = "TargetNoSpace"
	ErrTargetNoInodes     = "TargetNoInodes"
	ErrTargetReadOnly     = "TargetReadOnly"
	// ErrNoProgress (retryable): a copy attempt moved nothing for the
	// no-progress bound; the retry starts on fresh connections.
	ErrNoProgress = "NoProgress"

	// ErrPreflightFailed: preflight found problems; its message lists
	// every one.
	ErrPreflightFailed = "PreflightFailed"

	// Commands.
	// ErrCommandTimeout: the command ran past its timeout (not retried:
	// the workflow decides).
	ErrCommandTimeout = "CommandTimeout"
	// ErrCommandLost: the command's runner vanished from its host without
	// an exit record (host rebooted, processes killed): it may have run in
	// part, and running it again is not safe.
	ErrCommandLost = "CommandLost"
	// ErrBadCommand: umzug cannot start the command at all (empty, or a
	// host without setsid or a state directory).
	ErrBadCommand = "BadCommand"
	// ErrSecretMissing: the worker cannot resolve a secret the command
	// names; retrying cannot help until an operator provides it.
	ErrSecretMissing = "SecretMissing"

	// ErrRefused: the workflow refused an update (approval, abort, skip)
	// because the move is not in a state that allows it.
	ErrRefused = "Refused"
)
