package contract

// NameCleanupRehearsal removes what a rehearsal wrote under its scratch root.
const NameCleanupRehearsal = "CleanupRehearsal"

// CleanupInput names what a rehearsal created on its scratch host: the
// re-rooted copy targets and the state directory of its manifests.
type CleanupInput struct {
	MoveID string `json:"move_id"`
	Host   Host   `json:"host"`
	// Root is the scratch root; nothing outside it is ever removed.
	Root string `json:"root"`
	// Targets are the copy sets' re-rooted `to` directories.
	Targets []string `json:"targets"`
}

// CleanupResult says what the cleanup removed.
type CleanupResult struct {
	// Removed lists the trees removed (copy targets, state directories).
	Removed []string `json:"removed,omitempty"`
	// Entries counts files, symlinks and directories removed.
	Entries int64 `json:"entries"`
	// Pruned lists parent directories removed because they became empty.
	Pruned []string `json:"pruned,omitempty"`
}
