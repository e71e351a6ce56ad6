package activities

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pkg/sftp"
)

// Hosts with become = "sudo": the login user runs steps, undos, checks
// and the SFTP server as root through `sudo -n /bin/sh -c SCRIPT`, the one
// command form the host's sudoers must allow (besides the agent's
// `serve`, see internal/agentdeploy). -n makes sudo fail at once where it
// would ask for a password.

// sftpServerScript starts the host's sftp-server in the session (which
// then speaks SFTP on stdin and stdout), wherever the distribution keeps
// it, through the `/bin/sh -c` rule steps need anyway.
const sftpServerScript = `for p in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server /usr/libexec/sftp-server; do
  [ -x "$p" ] && exec "$p"
done
echo "umzug: no sftp-server found (looked in /usr/lib/openssh, /usr/libexec/openssh, /usr/lib/ssh, /usr/libexec)" >&2
exit 127`

// sudoSFTP opens an SFTP client on an sftp-server run as root in an exec
// session. Its errors carry the server's stderr (sudo's refusal).
func (c *Conn) sudoSFTP(opts []sftp.ClientOption) (*sftp.Client, error) {
	where := fmt.Sprintf("%s (%s)", c.Host.Name, withDefaultPort(c.Host.Address))
	sess, err := c.Client.NewSession()
	if err != nil {
		c.markBroken()
		return nil, fmt.Errorf("open session on %s: %w", where, err)
	}
	stderr := newOutputTail(2048)
	sess.Stderr = stderr
	w, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	r, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	if err := sess.Start(SudoScript(sftpServerScript)); err != nil {
		sess.Close()
		return nil, fmt.Errorf("start sftp-server through sudo on %s: %w", where, err)
	}
	cl, err := sftp.NewClientPipe(r, w, opts...)
	if err != nil {
		// sudo's refusal is on stderr, copied until the session ends.
		ended := make(chan struct{})
		go func() { sess.Wait(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(2 * time.Second):
		}
		sess.Close()
		msg := strings.TrimSpace(stderr.String())
		return nil, fmt.Errorf("sftp-server through `sudo -n` on %s as %s: %v: %s; %s", where, c.Host.User, err, msg, sudoersHint(c.Host.User, ""))
	}
	go func() { cl.Wait(); sess.Close() }()
	return cl, nil
}

// sudoersHint names the sudoers entry a become host needs.
func sudoersHint(user, agentPath string) string {
	cmds := "/bin/sh -c *"
	if agentPath != "" {
		cmds = agentPath + " serve, " + cmds
	}
	return fmt.Sprintf("the host's sudoers must let %s run it without a password, e.g. in /etc/sudoers.d/umzug: %q (see docs/operations.md)", user, user+" ALL=(root) NOPASSWD: "+cmds)
}

// checkSudo runs `sudo -n /bin/sh -c true` on a become host and, when
// the agent will run from agentPath, asks sudo whether it would start it
// (`sudo -n -l AGENT serve`, which runs nothing). It says what sudoers
// lacks when sudo refuses.
func checkSudo(ctx context.Context, c *Conn, side, agentPath string) []string {
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	try := func(cmd string) string {
		var out, errb bytes.Buffer
		code, err := c.Run(rctx, cmd, nil, &out, &errb)
		switch {
		case err != nil:
			return err.Error()
		case code == 0:
			return ""
		case strings.TrimSpace(errb.String()) != "":
			return strings.TrimSpace(errb.String())
		}
		return fmt.Sprintf("exit %d", code)
	}
	if why := try(SudoScript("true")); why != "" {
		return []string{fmt.Sprintf("%s %s has become = \"sudo\", but `sudo -n /bin/sh -c true` as %s failed (%s): %s",
			side, c.Host.Name, c.Host.User, why, sudoersHint(c.Host.User, agentPath))}
	}
	if agentPath == "" {
		return nil
	}
	if why := try("sudo -n -l " + ShellQuote(agentPath) + " serve"); why != "" {
		return []string{fmt.Sprintf("%s %s has become = \"sudo\", but sudo would not start the agent (`sudo -n -l %s serve` as %s: %s): %s",
			side, c.Host.Name, agentPath, c.Host.User, why, sudoersHint(c.Host.User, agentPath))}
	}
	return nil
}

// becomeProblems checks the become hosts of a move: sudo works without a
// password, copies touching them run on the agent engine (the classic
// engine runs tar, find and sha256sum as the login user), and no copy set
// asks for the re-hash after the switch, which reads as the login user.
// An agent uploaded to the login user's home is only warned about.
func (a *Activities) becomeProblems(ctx context.Context, in PreflightInput, src, dst *Conn) (out, warnings []string) {
	for _, s := range []struct {
		side string
		h    Host
		c    *Conn
	}{{"source", in.Source, src}, {"target", in.Target, dst}} {
		if !s.h.Sudo() {
			continue
		}
		agent := ""
		if len(in.Copies) > 0 && a.agentEngine() {
			agent = s.h.AgentPath
		}
		if s.c != nil {
			out = append(out, checkSudo(ctx, s.c, s.side, agent)...)
		}
		if len(in.Copies) > 0 && a.agentEngine() && s.h.AgentPath == "" {
			warnings = append(warnings, fmt.Sprintf("%s %s has become = \"sudo\" and no agent_path: sudo runs the agent uploaded to %s's home, a path that changes with every agent version (sudoers must name each) and that the login user can replace; prefer a root-owned umzug-agent named by agent_path (see docs/operations.md)", s.side, s.h.Name, s.h.User))
		}
		if len(in.Copies) > 0 && !a.agentEngine() {
			out = append(out, fmt.Sprintf("%s %s has become = \"sudo\": copies on such a host need the agent engine, which runs umzug-agent through sudo; start this queue's workers with --copy-engine agent", s.side, s.h.Name))
		}
		for _, cs := range in.Copies {
			if cs.Rehash != "" {
				out = append(out, fmt.Sprintf("copy set %s: rehash = %q is not available with %s %s's become = \"sudo\" (the re-hash reads files as the login user); remove rehash from the copy set", cs.Name, cs.Rehash, s.side, s.h.Name))
			}
		}
	}
	return out, warnings
}
