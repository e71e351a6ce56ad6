package connect

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
)

// Dial connects with o and turns the usual connection failures into a
// message that says which setting to change.
func Dial(ctx context.Context, o client.Options) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, o)
	if err != nil {
		return nil, Explain(o, err)
	}
	return c, nil
}

// Explain wraps a dial error with what the operator can do about it.
func Explain(o client.Options, err error) error {
	at := fmt.Sprintf("the Temporal frontend at %s (namespace %s)", o.HostPort, o.Namespace)
	msg := err.Error()
	if UsesTLS(o) && o.ConnectionOptions.TLS.GetClientCertificate == nil {
		if p, ok := probeCert(o); ok {
			if p.asked && !HasClientCert(o) {
				return fmt.Errorf("%s requires a client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or --tls-cert-path and --tls-key-path): %w", at, err)
			}
			if p.rejected != nil && HasClientCert(o) && strings.Contains(p.rejected.Error(), "certificate") {
				return fmt.Errorf("%s refused our client certificate (%v): use one signed by the CA the frontend trusts: %w", at, p.rejected, err)
			}
		}
	}
	switch {
	case UsesTLS(o) && !HasClientCert(o) && refusedCert(msg):
		return fmt.Errorf("%s requires a client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or --tls-cert-path and --tls-key-path): %w", at, err)
	case UsesTLS(o) && refusedCert(msg):
		return fmt.Errorf("%s refused our client certificate: use one signed by the CA the frontend trusts: %w", at, err)
	case strings.Contains(msg, "certificate signed by unknown authority"):
		return fmt.Errorf("%s presented a certificate we do not trust: set TEMPORAL_TLS_SERVER_CA_CERT_PATH (or --tls-ca-path) to its CA: %w", at, err)
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Errorf("%s does not speak TLS: unset TEMPORAL_TLS and the TEMPORAL_TLS_* variables (or pass --tls=false): %w", at, err)
	case !UsesTLS(o) && plainToTLS(msg):
		return fmt.Errorf("%s closed a plain connection; it may require TLS: set TEMPORAL_TLS=true (or --tls): %w", at, err)
	}
	return fmt.Errorf("connect to %s: %w; start one with `umzug dev` or set TEMPORAL_ADDRESS", at, err)
}

func refusedCert(msg string) bool {
	return strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate")
}

func plainToTLS(msg string) bool {
	for _, s := range []string{"error reading server preface", "connection reset by peer", "http2: frame too large", "EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
