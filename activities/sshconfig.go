package activities

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strings"

	"github.com/kevinburke/ssh_config"

	"github.com/umzug-dev/umzug/activities/contract"
)

// UserSSHConfig is the OpenSSH client configuration a worker honours for
// plan hosts, resolved in the worker's home directory.
const UserSSHConfig = "~/.ssh/config"

// SSHConfig is a parsed ssh_config(5) file.
type SSHConfig struct {
	path string
	cfg  *ssh_config.Config
}

// LoadSSHConfig reads path ("~/" resolves in the home directory). A
// missing file is an empty configuration.
func LoadSSHConfig(path string) (*SSHConfig, error) {
	p, err := expandHome(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return &SSHConfig{path: p}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ssh config %s: %w", p, err)
	}
	defer f.Close()
	cfg, err := ssh_config.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("parse ssh config %s: %w", p, err)
	}
	return &SSHConfig{path: p, cfg: cfg}, nil
}

func (c *SSHConfig) get(alias, key string) string {
	if c == nil || c.cfg == nil {
		return ""
	}
	v, _ := c.cfg.Get(alias, key)
	return strings.TrimSpace(v)
}

// Apply fills what the plan leaves open from the Host blocks matching
// h's address, as ssh does: HostName and Port (a port other than 22 in
// the plan's address wins), User, IdentityFile (unless the plan names a key or the
// agent), ProxyJump (unless the plan names a jump host) and
// UserKnownHostsFile. Values the plan sets always win.
func (c *SSHConfig) Apply(h Host) Host { return c.apply(h, 0) }

// maxJumpDepth bounds ProxyJump chains (and configs whose jump host
// matches its own ProxyJump, as "Host *" does).
const maxJumpDepth = 4

func (c *SSHConfig) apply(h Host, depth int) Host {
	if c == nil || c.cfg == nil || h.Address == "" {
		return h
	}
	alias, port, hasPort := splitAddr(h.Address)
	host := alias
	if v := c.get(alias, "HostName"); v != "" {
		host = strings.ReplaceAll(v, "%h", alias)
	}
	// Plans fill in port 22 when the address has none, so only another
	// port counts as the plan's choice.
	if v := c.get(alias, "Port"); v != "" && (!hasPort || port == "22") {
		port = v
	}
	if port != "" {
		h.Address = net.JoinHostPort(host, port)
	} else {
		h.Address = host
	}
	if h.User == "" {
		h.User = c.get(alias, "User")
	}
	if h.IdentityFile == "" && !h.Agent {
		if v := c.get(alias, "IdentityFile"); v != "" {
			h.IdentityFile = expandTokens(v, host, alias, h.User)
		}
	}
	if h.KnownHosts == "" {
		if v := strings.Fields(c.get(alias, "UserKnownHostsFile")); len(v) > 0 {
			h.KnownHosts = expandTokens(v[0], host, alias, h.User)
		}
	}
	if h.Jump == nil && depth < maxJumpDepth {
		if v := c.get(alias, "ProxyJump"); v != "" && !strings.EqualFold(v, "none") {
			h.Jump = c.jumpHost(h, v, depth+1)
		}
	}
	return h
}

// jumpHost turns a ProxyJump value ("[user@]host[:port]", comma separated
// for several hops) into the chain of jump hosts, the last hop nearest to
// the target. Jump hosts use their own Host blocks, and otherwise the
// target's user, key and known_hosts.
func (c *SSHConfig) jumpHost(target Host, spec string, depth int) *Host {
	hops := strings.Split(spec, ",")
	last := strings.TrimSpace(hops[len(hops)-1])
	j := Host{Name: "ssh_config:" + last, Datacenter: target.Datacenter, Queue: target.Queue}
	if u, rest, ok := strings.Cut(last, "@"); ok {
		j.User, last = u, rest
	}
	j.Address = last
	resolved := c.apply(Host{Address: last, User: j.User}, depth)
	j.Address, j.User = resolved.Address, resolved.User
	j.IdentityFile, j.KnownHosts, j.Jump = resolved.IdentityFile, resolved.KnownHosts, resolved.Jump
	if j.User == "" {
		j.User = target.User
	}
	if j.IdentityFile == "" {
		j.IdentityFile, j.Agent = target.IdentityFile, target.Agent
	}
	if j.KnownHosts == "" {
		j.KnownHosts = target.KnownHosts
	}
	if len(hops) > 1 && depth < maxJumpDepth {
		j.Jump = c.jumpHost(target, strings.Join(hops[:len(hops)-1], ","), depth+1)
	}
	return &j
}

func splitAddr(a string) (host, port string, ok bool) {
	if h, p, err := net.SplitHostPort(a); err == nil {
		return h, p, true
	}
	return a, "", false
}

// expandTokens expands the ssh_config tokens that name paths.
func expandTokens(v, host, alias, remoteUser string) string {
	local := ""
	if u, err := user.Current(); err == nil {
		local = u.Username
	}
	home, _ := os.UserHomeDir()
	return strings.NewReplacer("%%", "%", "%h", host, "%n", alias, "%r", remoteUser, "%u", local, "%d", home).Replace(v)
}

// applyUserSSHConfig is the dial path's hook: the worker's ~/.ssh/config
// applied to h.
func applyUserSSHConfig(h Host) (Host, error) {
	c, err := LoadSSHConfig(UserSSHConfig)
	if err != nil {
		return h, &DialError{Host: h.Name, Address: h.Address, Kind: contract.ErrSSHConfig, Err: err,
			Msg: fmt.Sprintf("host %s (%s): %v; fix or move the file", h.Name, h.Address, err)}
	}
	return c.Apply(h), nil
}
