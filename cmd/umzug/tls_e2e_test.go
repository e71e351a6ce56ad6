package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/demo"
	"github.com/umzug-dev/umzug/internal/pki"
	"github.com/umzug-dev/umzug/internal/testkit"
)

// tlsFiles are a server CA with a server certificate for 127.0.0.1, and a
// separate client CA with one client certificate, all on disk.
type tlsFiles struct {
	serverCA, serverCert, serverKey string
	clientCA, clientCert, clientKey string
	strangerCert, strangerKey       string
}

func writeTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	var f tlsFiles
	write := func(ca *pki.CA, name string) string {
		p := filepath.Join(dir, name+".pem")
		must(os.WriteFile(p, ca.PEM, 0o644))
		return p
	}
	sca, err := pki.NewCA("test server CA")
	must(err)
	cca, err := pki.NewCA("test client CA")
	must(err)
	other, err := pki.NewCA("someone else's CA")
	must(err)
	f.serverCA, f.clientCA = write(sca, "server-ca"), write(cca, "client-ca")
	srv, err := sca.Server("temporal-frontend", "127.0.0.1", "localhost")
	must(err)
	f.serverCert, f.serverKey, err = srv.Write(dir, "server")
	must(err)
	cl, err := cca.Client("umzug-worker")
	must(err)
	f.clientCert, f.clientKey, err = cl.Write(dir, "client")
	must(err)
	st, err := other.Client("stranger")
	must(err)
	f.strangerCert, f.strangerKey, err = st.Write(dir, "stranger")
	must(err)
	return f
}

// startTLSE2E is startE2E with an mTLS frontend and the Web UI; the
// client variables point the CLI at it with the client certificate.
func startTLSE2E(t *testing.T, f tlsFiles) (*e2e, int) {
	t.Helper()
	env, err := demo.Setup(demo.Options{Dir: filepath.Join(t.TempDir(), "demo"), PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	uiPort := testkit.FreePort(t) // the Web UI cannot report a port-0 bind
	st, err := startStack(context.Background(), embeddedOptions{port: 0, uiPort: uiPort,
		tlsCert: f.serverCert, tlsKey: f.serverKey, tlsClientCA: f.clientCA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	t.Setenv("TEMPORAL_ADDRESS", st.server.Address())
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", f.serverCA)
	t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", f.clientCert)
	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", f.clientKey)
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "none.toml"))
	return &e2e{env: env, stack: st, c: st.client}, uiPort
}

// TestMoveOverMutualTLS runs a whole move against an mTLS frontend with
// the Temporal client variables, shows that clients without a trusted
// certificate are refused with a message naming the fix, and that the
// Web UI still reads the cluster over TLS.
func TestMoveOverMutualTLS(t *testing.T) {
	f := writeTLSFiles(t)
	e, uiPort := startTLSE2E(t, f)
	moveToCommit(t, e)

	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/namespaces", uiPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Web UI /api/v1/namespaces over the TLS frontend: %s", resp.Status)
	}

	t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", "")
	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", "")
	code, _, errOut := cli(t, "status", financeID)
	if code == 0 || !strings.Contains(errOut, "requires a client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH") {
		t.Fatalf("client without certificate: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = cli(t, "status", financeID, "--tls-cert-path", f.strangerCert, "--tls-key-path", f.strangerKey)
	if code == 0 || !strings.Contains(errOut, "refused our client certificate") {
		t.Fatalf("client with an untrusted certificate: exit %d, stderr %q", code, errOut)
	}
	t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "")
	code, _, errOut = cli(t, "status", financeID, "--tls=false")
	if code == 0 || !strings.Contains(errOut, "may require TLS") {
		t.Fatalf("plain client: exit %d, stderr %q", code, errOut)
	}
	// With the flags instead of the variables it works again.
	if code, out, _ := cli(t, "status", financeID, "--tls-ca-path", f.serverCA, "--tls-cert-path", f.clientCert, "--tls-key-path", f.clientKey); code != 0 || !strings.Contains(out, "committed") {
		t.Fatalf("status with flags: exit %d %q", code, out)
	}
}
