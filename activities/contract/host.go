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
	// ConnSince names the move's latest wait for a person or the clock
	// (workflow run and a count). A worker's connection pool lends an
	// activity carrying a name only connections it opened after it first
	// saw that name, so no connection outlives a wait during which the
	// host's key may have changed: the next activity logs in anew and
	// checks the key. Empty: any pooled connection of the login.
	ConnSince string `json:"conn_since,omitempty"`
	// AgentPath is an umzug-agent administrators installed on the host
	// (for homes mounted noexec): the agent copy engine runs it after
	// checking it is the worker's agent, and uploads nothing. Empty: the
	// engine uploads the agent to ~/.umzug/agent of the login user.
	AgentPath string `json:"agent_path,omitempty"`
	// Become is BecomeSudo when the login user runs steps, undos, checks
	// and the agent as root through `sudo -n`; empty: as the login user.
	Become string `json:"become,omitempty"`
}

// BecomeSudo is Host.Become for hosts where the login user runs commands
// as root through `sudo -n` (no password prompt: sudoers NOPASSWD).
const BecomeSudo = "sudo"

// Sudo reports whether commands on h run through `sudo -n`.
func (h Host) Sudo() bool { return h.Become == BecomeSudo }
