package contract

import "time"

// CommandInput runs one shell command on one host.
type CommandInput struct {
	Host    Host          `json:"host"`
	Command string        `json:"command"`
	Timeout time.Duration `json:"timeout,omitempty"`
	// Purpose says why, for logs and audit: "step stop_app", "undo stop_app",
	// "check health (attempt 3)".
	Purpose string `json:"purpose"`
	// Secrets names the sensitive plan variables the command refers to as
	// ${UMZUG_SECRET_<name>}. The worker resolves their values from its own
	// environment or secrets file and hands them to the remote shell outside
	// the command line, so only the names travel through history.
	Secrets []string `json:"secrets,omitempty"`
	// KeepOutput keeps the output tails of a command with Secrets,
	// redacted (the plan's output = "keep"); without it the worker keeps
	// only their byte counts.
	KeepOutput bool `json:"keep_output,omitempty"`
	// NoBecome runs the command as the login user on a host with Become
	// (the plan's become = false).
	NoBecome bool `json:"no_become,omitempty"`
}

// SecretEnvPrefix prefixes the shell variable (and the worker's environment
// variable) that carries a sensitive plan variable's value.
const SecretEnvPrefix = "UMZUG_SECRET_"

// CommandResult is the outcome of a command. A non-zero exit is a result,
// not an error: the workflow decides what it means.
type CommandResult struct {
	Host     string    `json:"host"`
	Address  string    `json:"address"`
	Command  string    `json:"command"`
	ExitCode int       `json:"exit_code"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Output tails, capped so history stays small; secret values (and
	// their encoded forms) are replaced by (sensitive). A command with
	// Secrets and without KeepOutput has a note with the byte count here
	// instead.
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	// ProcessGroup is the command's process group on the host.
	ProcessGroup int `json:"process_group,omitempty"`
	// Attempts lists every activity attempt that touched the command, as
	// recorded on the host: the one that started it and any that took
	// over its result after a lost worker or connection.
	Attempts []CommandAttempt `json:"attempts,omitempty"`
}

// CommandAttempt is one activity attempt of a command.
type CommandAttempt struct {
	Attempt  int       `json:"attempt"`
	Host     string    `json:"host"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitempty"`
	// ExitCode is the command's exit status as this attempt saw it; -1
	// when the attempt ended first or the command was killed.
	ExitCode int `json:"exit_code"`
	// TakenOver: this attempt did not run the command again but waited for
	// the run an earlier attempt started.
	TakenOver bool   `json:"taken_over,omitempty"`
	Note      string `json:"note,omitempty"`
}
