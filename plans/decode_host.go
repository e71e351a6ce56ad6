package plans

import (
	"path"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// hostDecl is a host with its references not yet resolved.
type hostDecl struct {
	h    *Host
	dc   *ref
	jump *ref
}

func (l *loader) decodeHostBlock(b *hcl.Block) *hostDecl {
	h := &Host{Name: b.Labels[0], Range: b.DefRange}
	hd := &hostDecl{h: h}
	content, d := b.Body.Content(hostSchema)
	l.diags = append(l.diags, d...)
	attrs := content.Attributes

	if a := attrs["datacenter"]; a != nil {
		hd.dc = l.singleRef(a, "datacenter")
	}
	if a := attrs["jump"]; a != nil {
		hd.jump = l.singleRef(a, "host")
	}
	if a := attrs["address"]; a != nil {
		if s, ok := l.str(a, "address"); ok {
			addr, err := normalizeAddress(s)
			if err != nil {
				l.errorf(a.Expr.Range(), "Invalid address", "%v.", err)
			}
			h.Address = addr
		}
	}
	if a := attrs["user"]; a != nil {
		if s, ok := l.str(a, "user"); ok && s == "" {
			l.errorf(a.Expr.Range(), "Empty user", "user is the SSH login name on %s.", h.Name)
		} else {
			h.User = s
		}
	}
	if a := attrs["known_hosts"]; a != nil {
		if s, ok := l.str(a, "known_hosts"); ok && s == "" {
			l.errorf(a.Expr.Range(), "Empty known_hosts",
				"known_hosts is the file that holds %s's host key; host keys are always checked, so it cannot be empty.", h.Name)
		} else {
			h.KnownHosts = s
		}
	}
	if a := attrs["agent_path"]; a != nil {
		if s, ok := l.str(a, "agent_path"); ok {
			if !strings.HasPrefix(s, "/") || path.Clean(s) != s || len(s) > 4096 || strings.ContainsAny(s, "\x00\n") {
				l.errorf(a.Expr.Range(), "Invalid agent_path",
					"agent_path is the absolute, clean path of an umzug-agent installed on %s (e.g. \"/opt/umzug/umzug-agent\"); got %q.", h.Name, s)
			} else {
				h.AgentPath = s
			}
		}
	}
	if a := attrs["become"]; a != nil {
		if s, ok := l.str(a, "become"); ok {
			if s != "sudo" {
				l.errorf(a.Expr.Range(), "Invalid become",
					"become names how %s's login user becomes root for steps, undos, checks and the agent: only \"sudo\" (sudo -n, no password) is supported; got %q. Leave it out to run them as the login user.", h.Name, s)
			} else {
				h.Become = s
			}
		}
	}
	idSet := false
	if a := attrs["identity_file"]; a != nil {
		if s, ok := l.str(a, "identity_file"); ok {
			if s == "" {
				l.errorf(a.Expr.Range(), "Empty identity_file", "Name the private key file, or use agent = true instead.")
			}
			h.IdentityFile = s
		}
		idSet = true
	}
	if a := attrs["agent"]; a != nil {
		h.Agent, _ = l.boolean(a, "agent")
		if h.Agent && idSet {
			l.errorf(a.Range, "Conflicting authentication",
				"Host %q sets both identity_file and agent = true; keep one of them.", h.Name)
		}
		if !h.Agent && !idSet {
			l.errorf(a.Range, "No authentication",
				"Host %q has agent = false and no identity_file; set identity_file or agent = true.", h.Name)
		}
	} else if !idSet && !d.HasErrors() {
		l.errorf(b.DefRange, "No authentication",
			"Host %q needs identity_file = \"PATH\" (a private key) or agent = true (the SSH agent).", h.Name)
	}
	return hd
}
