package contract

// Activity names as registered with the worker. Workflows call activities
// by these names so that they do not depend on the implementation.
const (
	NamePreflight     = "Preflight"
	NameCopyTree      = "CopyTree"
	NameEstimateDelta = "EstimateDelta"
	NameRunCommand    = "RunCommand"
	NameProbeHost     = "ProbeHost"
	NameRehash        = "RehashAfterSwitch"
	NameCheckSecrets  = "CheckSecrets"
)
