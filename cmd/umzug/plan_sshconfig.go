package main

import (
	"fmt"
	"strings"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/internal/launch"
	"github.com/umzug-dev/umzug/plans"
)

// sshConfigNote is what ~/.ssh/config (of the user running `umzug plan`;
// workers read their own) changes about host h, or "" when nothing does.
func sshConfigNote(h *plans.Host) string {
	c, err := activities.LoadSSHConfig(activities.UserSSHConfig)
	if err != nil {
		return "cannot read: " + err.Error()
	}
	in := launch.HostInput(h)
	eff := c.Apply(in)
	var parts []string
	add := func(name, before, after string) {
		if before != after {
			parts = append(parts, fmt.Sprintf("%s %s", name, after))
		}
	}
	add("address", in.Address, eff.Address)
	add("user", in.User, eff.User)
	add("identity_file", in.IdentityFile, eff.IdentityFile)
	add("known_hosts", in.KnownHosts, eff.KnownHosts)
	if in.Jump == nil && eff.Jump != nil {
		parts = append(parts, "jump "+eff.Jump.User+"@"+eff.Jump.Address)
	}
	return strings.Join(parts, ", ")
}
