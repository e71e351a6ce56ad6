package devserver

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"

	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"go.temporal.io/server/common/config"

	"github.com/umzug-dev/umzug/internal/pki"
)

// TLSOptions make the frontend serve TLS, and mTLS with ClientCAFile.
type TLSOptions struct {
	CertFile, KeyFile string
	// ClientCAFile, when set, makes the frontend require client
	// certificates signed by it.
	ClientCAFile string
}

// tlsState is what the server's own clients (system worker, Web UI, the
// in-process umzug worker) need to reach a TLS frontend: the served
// certificate to trust, the name in it and, under mTLS, a client
// certificate from an in-memory CA that only this process holds.
type tlsState struct {
	serverPEM  []byte
	serverName string
	internal   pki.Pair
	internalCA []byte
	clientCA   []byte
}

func loadTLS(o *TLSOptions, ip string) (*tlsState, error) {
	serverPEM, err := os.ReadFile(o.CertFile)
	if err != nil {
		return nil, fmt.Errorf("frontend TLS certificate: %w", err)
	}
	if _, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile); err != nil {
		return nil, fmt.Errorf("frontend TLS certificate %s and key %s: %w", o.CertFile, o.KeyFile, err)
	}
	st := &tlsState{serverPEM: serverPEM, serverName: certName(serverPEM, ip)}
	if o.ClientCAFile != "" {
		if st.clientCA, err = os.ReadFile(o.ClientCAFile); err != nil {
			return nil, fmt.Errorf("client CA for mTLS: %w", err)
		}
	}
	ca, err := pki.NewCA("umzug dev internal CA")
	if err != nil {
		return nil, err
	}
	if st.internal, err = ca.Client("umzug-dev-internal"); err != nil {
		return nil, err
	}
	st.internalCA = ca.PEM
	return st, nil
}

// certName is the name internal clients verify: the certificate's first
// DNS name, else the IP the frontend binds to.
func certName(certPEM []byte, ip string) string {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return ip
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil || len(c.DNSNames) == 0 {
		return ip
	}
	return c.DNSNames[0]
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// apply configures the frontend's TLS and the system worker's client.
func (st *tlsState) apply(conf *config.Config, o *TLSOptions) {
	srv := config.ServerTLS{CertFile: o.CertFile, KeyFile: o.KeyFile}
	if o.ClientCAFile != "" {
		srv.RequireClientAuth = true
		// The server takes CAs as files or as data, not both.
		srv.ClientCAData = []string{b64(st.clientCA), b64(st.internalCA)}
	}
	conf.Global.TLS.Frontend.Server = srv
	conf.Global.TLS.SystemWorker = config.WorkerTLS{
		CertData: b64(st.internal.CertPEM),
		KeyData:  b64(st.internal.KeyPEM),
		Client: config.ClientTLS{
			ServerName: st.serverName,
			RootCAData: []string{b64(st.serverPEM)},
			ForceTLS:   true,
		},
	}
}

// uiTLS is the Web UI's gRPC client TLS towards the frontend.
func (st *tlsState) uiTLS() uiconfig.TLS {
	return uiconfig.TLS{
		CaData:                 b64(st.serverPEM),
		CertData:               b64(st.internal.CertPEM),
		KeyData:                b64(st.internal.KeyPEM),
		ServerName:             st.serverName,
		EnableHostVerification: true,
	}
}

// clientTLS is the TLS configuration for SDK clients in this process.
func (st *tlsState) clientTLS() (*tls.Config, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(st.serverPEM)
	cert, err := st.internal.TLS()
	if err != nil {
		return nil, fmt.Errorf("internal client certificate: %w", err)
	}
	return &tls.Config{RootCAs: pool, ServerName: st.serverName, Certificates: []tls.Certificate{cert}}, nil
}
