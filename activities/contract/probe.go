package contract

// ProbeResult is what a probe of a host found.
type ProbeResult struct {
	Host        string `json:"host"`
	Fingerprint string `json:"fingerprint"`
}
