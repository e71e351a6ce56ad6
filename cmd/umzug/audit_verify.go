package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/internal/audit"
)

func newAuditVerifyCmd() *cobra.Command {
	var allowedSigners, publicKey string
	cmd := &cobra.Command{
		Use:   "verify DIR (--allowed-signers FILE | --public-key FILE)",
		Short: "Check an evidence bundle offline: signature, digests, manifests, replay",
		Long: `verify re-checks a bundle written by 'umzug audit --sign-key':
  - the SSH signature over SHA256SUMS (namespace umzug-audit) by a key in
    --allowed-signers (OpenSSH allowed_signers format) or --public-key;
  - every file's SHA-256 against SHA256SUMS, and that no file was added;
  - each manifest against the digest its history records;
  - a replay of every history against this build's workflow code.
It prints a verdict naming each file that fails; exit 1 on any failure.
OpenSSH alone checks the signature too:
  ssh-keygen -Y verify -f allowed_signers -I SIGNER -n umzug-audit \
    -s DIR/SHA256SUMS.sig < DIR/SHA256SUMS`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var keys []audit.AllowedKey
			switch {
			case allowedSigners != "" && publicKey != "":
				return errors.New("give --allowed-signers or --public-key, not both")
			case allowedSigners != "":
				k, err := audit.LoadAllowedSigners(allowedSigners)
				if err != nil {
					return err
				}
				keys = k
			case publicKey != "":
				k, err := audit.LoadPublicKey(publicKey)
				if err != nil {
					return err
				}
				keys = []audit.AllowedKey{k}
			}
			v := audit.VerifyBundle(args[0], keys)
			printVerdict(cmd.OutOrStdout(), args[0], v)
			if !v.OK() {
				return &exitError{code: 1, err: fmt.Errorf("bundle %s FAILED verification: %d problem(s), first: %s: %s", args[0], len(v.Findings), v.Findings[0].File, v.Findings[0].Problem)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&allowedSigners, "allowed-signers", "", "OpenSSH allowed_signers file naming who may sign bundles")
	cmd.Flags().StringVar(&publicKey, "public-key", "", "the signer's public key (.pub)")
	return cmd
}

func printVerdict(w io.Writer, dir string, v *audit.Verdict) {
	if v.Signer != "" {
		fmt.Fprintf(w, "signature: good, by %s\n", v.Signer)
	}
	fmt.Fprintf(w, "files: %d checked against %s\n", v.Files, audit.SumsFile)
	fmt.Fprintf(w, "manifests: %d matched against history\n", v.Checked)
	fmt.Fprintf(w, "histories: %d replayed consistently against this build\n", v.Replayed)
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
