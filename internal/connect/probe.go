package connect

import (
	"crypto/tls"
	"net"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
)

// certProbe is what a bare TLS handshake with the frontend tells: whether
// it asks for a client certificate, and the alert it sends after the
// handshake when it rejects the one we presented. Under TLS 1.3 that
// alert comes after the handshake, so gRPC only sees a closed connection.
type certProbe struct {
	asked    bool
	rejected error
}

func probeCert(o client.Options) (certProbe, bool) {
	var p certProbe
	cfg := o.ConnectionOptions.TLS.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(o.HostPort)
		if err != nil {
			return p, false
		}
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"h2"}
	own := cfg.Certificates
	cfg.Certificates = nil
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		p.asked = true
		if len(own) > 0 {
			return &own[0], nil
		}
		return &tls.Certificate{}, nil
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", o.HostPort, cfg)
	if err != nil {
		p.rejected = err
		return p, true
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 64)); err != nil && strings.Contains(err.Error(), "remote error") {
		p.rejected = err
	}
	return p, true
}
