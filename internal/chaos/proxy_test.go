package chaos

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// TestProxyForwardsCountsAndCuts forwards one exchange, then arms a cut
// and checks the connection dies at the byte count while a new one works.
func TestProxyForwardsCountsAndCuts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	p, err := NewProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("x"), 1000)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo through proxy: %v", err)
	}
	if p.Sent() != 1000 {
		t.Fatalf("sent %d, want 1000", p.Sent())
	}
	p.CutAt(500)
	_, _ = c.Write(msg)
	if _, err := io.ReadAll(c); err != nil && p.Cuts() != 1 {
		t.Fatalf("cut did not fire: %v", err)
	}
	if p.Cuts() != 1 {
		t.Fatalf("cuts %d, want 1", p.Cuts())
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	two := make([]byte, 2)
	if _, err := io.ReadFull(c2, two); err != nil || string(two) != "ok" {
		t.Fatalf("connection after cut: %v %q", err, two)
	}
}
