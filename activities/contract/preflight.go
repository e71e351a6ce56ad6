package contract

// PreflightInput lists what a move will touch.
type PreflightInput struct {
	MoveID string    `json:"move_id"`
	Source Host      `json:"source"`
	Target Host      `json:"target"`
	Copies []CopySet `json:"copies"`
	// Commands are the first words of every step, undo and check command,
	// per side ("source"/"target"), so preflight can check they exist.
	SourceCommands []string `json:"source_commands,omitempty"`
	TargetCommands []string `json:"target_commands,omitempty"`
}

// PreflightResult is what preflight found; it writes nothing.
type PreflightResult struct {
	SourceFingerprint string   `json:"source_fingerprint"` // SHA256:... of the verified host key
	TargetFingerprint string   `json:"target_fingerprint"`
	SourceFiles       int64    `json:"source_files"`
	SourceBytes       int64    `json:"source_bytes"`
	TargetFreeBytes   int64    `json:"target_free_bytes"` // -1 when unknown
	TargetHasSHA256   bool     `json:"target_has_sha256sum"`
	Warnings          []string `json:"warnings,omitempty"`
}

// CheckSecretsInput asks the worker of Host's queue, before any approval,
// whether it can resolve every secret the steps, undos and checks on that
// host use. Only names travel; the values stay on the worker.
type CheckSecretsInput struct {
	MoveID string `json:"move_id"`
	// Side is "source" or "target", for the message.
	Side string `json:"side"`
	Host Host   `json:"host"`
	// Names are the sensitive plan variables the host's commands refer to.
	Names []string `json:"names"`
}
