package contract

// DeltaEstimate is the result of a dry delta scan: what a final sync would
// copy now, without copying anything.
type DeltaEstimate struct {
	Set string `json:"set"`
	// SourceFiles and SourceBytes are the source tree's totals after
	// excludes: what a first seed copies.
	SourceFiles  int64 `json:"source_files"`
	SourceBytes  int64 `json:"source_bytes"`
	ChangedFiles int64 `json:"changed_files"`
	ChangedBytes int64 `json:"changed_bytes"`
	DeletedFiles int64 `json:"deleted_files"`
	// HashFiles and HashBytes: unchanged files whose verified digest
	// cannot be kept, which a sha256 sync hashes on both hosts.
	HashFiles int64 `json:"hash_files,omitempty"`
	HashBytes int64 `json:"hash_bytes,omitempty"`
	// Owners is how each source owner and group lands on the target (the
	// agent engine), e.g. "fin 2101→2102 (by name)"; UnknownOwners the
	// names the target does not know (refused as unknown_owner).
	Owners        []string `json:"owners,omitempty"`
	UnknownOwners []string `json:"unknown_owners,omitempty"`
}
