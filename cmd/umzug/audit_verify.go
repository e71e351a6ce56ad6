package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/internal/allowedsigners"
	"github.com/umzug-dev/umzug/internal/audit"
)

func newAuditVerifyCmd() *cobra.Command {
	var allowedSigners, publicKey, identity string
	var acceptOld bool
	cmd := &cobra.Command{
		Use:   "verify DIR (--allowed-signers FILE [--identity SIGNER] | --public-key FILE)",
		Short: "Check an evidence bundle offline: signature, digests, manifests, replay, reports",
		Long: `verify re-checks a bundle written by 'umzug audit --sign-key':
  - the SSH signature over SHA256SUMS (namespace umzug-audit) by a key that
    --allowed-signers accepts exactly as 'ssh-keygen -Y verify' does
    (principals patterns against --identity, namespaces=, valid-after=,
    valid-before=, cert-authority), or by the key in --public-key;
  - every file's SHA-256 against SHA256SUMS, and that no file was added;
  - each manifest against the digest its history records;
  - a replay of every history against this build's workflow code;
  - report.md, report.json and report.html rendered again from history.json
    and render.json: they must be byte for byte the bundle's, else the
    finding names the file, the first differing line and both versions.
A bundle rendered by another renderer version cannot be re-rendered: it
fails unless --accept-old-renderer is given (then the rest is checked and
a note says the reports were not).
It prints a verdict naming each file that fails; exit 1 on any failure.
OpenSSH alone checks the signature too:
  ssh-keygen -Y verify -f allowed_signers -I SIGNER -n umzug-audit \
    -s DIR/SHA256SUMS.sig < DIR/SHA256SUMS`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var keys *allowedsigners.File
			switch {
			case allowedSigners != "" && publicKey != "":
				return errors.New("give --allowed-signers or --public-key, not both")
			case allowedSigners != "":
				k, err := allowedsigners.Load(allowedSigners)
				if err != nil {
					return err
				}
				keys = k
			case publicKey != "":
				if identity != "" {
					return errors.New("--identity needs --allowed-signers: a bare public key names no principal")
				}
				k, err := allowedsigners.PublicKey(publicKey)
				if err != nil {
					return err
				}
				keys = k
			}
			v := audit.VerifyBundle(args[0], audit.VerifyOptions{Signers: keys, Identity: identity, AcceptOldRenderer: acceptOld})
			printVerdict(cmd.OutOrStdout(), args[0], v)
			if !v.OK() {
				return &exitError{code: 1, err: fmt.Errorf("bundle %s FAILED verification: %d problem(s), first: %s: %s", args[0], len(v.Findings), v.Findings[0].File, v.Findings[0].Problem)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&allowedSigners, "allowed-signers", "", "OpenSSH allowed_signers file naming who may sign bundles")
	cmd.Flags().StringVar(&publicKey, "public-key", "", "the signer's public key (.pub)")
	cmd.Flags().StringVar(&identity, "identity", "", "the principal the signer must be allowed as (ssh-keygen -Y verify -I); without it any principal of a matching line")
	cmd.Flags().BoolVar(&acceptOld, "accept-old-renderer", false, "let a bundle an older umzug rendered pass with a note; its reports are then not checked against history")
	return cmd
}

func printVerdict(w io.Writer, dir string, v *audit.Verdict) {
	if v.Signer != "" {
		fmt.Fprintf(w, "signature: good, by %s\n", v.Signer)
	}
	fmt.Fprintf(w, "files: %d checked against %s\n", v.Files, audit.SumsFile)
	fmt.Fprintf(w, "manifests: %d matched against history\n", v.Checked)
	fmt.Fprintf(w, "histories: %d replayed consistently against this build\n", v.Replayed)
	fmt.Fprintf(w, "reports: %d rendered again from history and identical\n", v.Rendered)
	for _, n := range v.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, f := range v.Findings {
		fmt.Fprintf(w, "FAILED %s: %s\n", f.File, f.Problem)
	}
	if v.OK() {
		fmt.Fprintf(w, "verdict: %s is intact, signed, and consistent with this build\n", dir)
	} else {
		fmt.Fprintf(w, "verdict: %s FAILED (%d problem(s))\n", dir, len(v.Findings))
	}
}
