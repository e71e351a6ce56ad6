package contract

// Host says how to reach one SSH host. It holds paths, never key material.
type Host struct {
	Name         string `json:"name"`
	Address      string `json:"address"` // host:port
	User         string `json:"user"`
	IdentityFile string `json:"identity_file,omitempty"`
	Agent        bool   `json:"agent,omitempty"`
	KnownHosts   string `json:"known_hosts"`
	Jump         *Host  `json:"jump,omitempty"`
	// Datacenter is informational (audit, status).
	Datacenter string `json:"datacenter,omitempty"`
	// Queue is the task queue of the workers that can reach this host;
	// empty means the default queue.
	Queue string `json:"queue,omitempty"`
}
