package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/internal/audit"
	"github.com/umzug-dev/umzug/internal/decisionsig"
	"github.com/umzug-dev/umzug/workflows"
)

// signFlags are --sign-key and --print-statement of a decision command:
// for a move whose plan names signers, the decision carries a signature
// by the sender's own SSH key over its statement (decisionsig).
type signFlags struct {
	key   string
	print bool
}

func (f *signFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.key, "sign-key", "", "sign the decision with this SSH key: a private key file, or a .pub file for the key in the SSH agent (SSH_AUTH_SOCK)")
	cmd.Flags().BoolVar(&f.print, "print-statement", false, "print the statement to sign (and the ssh-keygen command) instead of sending the decision")
	cmd.MarkFlagsMutuallyExclusive("sign-key", "print-statement")
}

// send sends the decision; with --sign-key it is signed first, with
// --print-statement only its statement is printed. build makes the
// payload from the signature and its time ("" unsigned).
func (f *signFlags) send(cmd *cobra.Command, id, name, as, comment string, build func(sig, at string) any) error {
	if f.key == "" && !f.print {
		return sendUpdate(cmd, id, name, build("", ""), as)
	}
	c, err := dialFromEnv(cmd.Context(), strings.TrimSpace(as)+"@umzug-cli")
	if err != nil {
		return err
	}
	defer c.Close()
	var st workflows.Status
	if err := queryStatus(cmd, c, id, &st); err != nil {
		return err
	}
	if st.Signing == nil {
		return &exitError{code: 1, err: fmt.Errorf("move %s takes unsigned decisions (its plan names no signers); send it without --sign-key and --print-statement", id)}
	}
	at := time.Now().UTC().Truncate(time.Second)
	s := decisionsig.Statement{MoveID: st.Signing.MoveID, RunID: st.Signing.RunID, RunDigest: st.Signing.RunDigest,
		Decision: name, Signer: as, Comment: comment, Time: at}
	if f.print {
		printStatement(cmd, s, id, name)
		return nil
	}
	signer, err := audit.LoadSigner(f.key, fmt.Sprintf("sign the statement yourself: `umzug %s %s --as %s --print-statement`", name, id, as))
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	sig, err := decisionsig.Sign(s, signer)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	return sendVia(cmd, c, id, name, build(sig, at.Format(decisionsig.TimeFormat)))
}

// printStatement shows the statement, how to sign it and what to send.
func printStatement(cmd *cobra.Command, s decisionsig.Statement, id, name string) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%s", s.Text())
	fmt.Fprintf(w, "\n# Save the %d lines above (each ending in a newline) as statement.txt and sign them within %s:\n",
		strings.Count(string(s.Text()), "\n"), decisionsig.MaxSkew)
	fmt.Fprintf(w, "#   ssh-keygen -Y sign -n %s -f KEY statement.txt\n", decisionsig.Namespace)
	fmt.Fprintf(w, "# then send the %s of %s with \"signature\": the content of statement.txt.sig and \"signed_at\": %q\n",
		name, id, s.Time.UTC().Format(decisionsig.TimeFormat))
	fmt.Fprintf(w, "# (the Web UI's Send an Update, or the JSON of the %s signal), the other fields as the statement says.\n", name)
}
