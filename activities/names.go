package activities

// Activity names as registered with the worker. Workflows call activities
// by these names so that they do not depend on the implementation.
const (
	NamePreflight     = "Preflight"
	NameCopyTree      = "CopyTree"
	NameEstimateDelta = "EstimateDelta"
	NameRunCommand    = "RunCommand"
)

// DeltaEstimate is the result of a dry delta scan: what a final sync would
// copy now, without copying anything.
type DeltaEstimate struct {
	Set          string `json:"set"`
	ChangedFiles int64  `json:"changed_files"`
	ChangedBytes int64  `json:"changed_bytes"`
	DeletedFiles int64  `json:"deleted_files"`
}
