//go:build linux

package agentclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/agentserver"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Agent over OS pipes against the shell tools the copy engine uses today,
// on the same tree:
//
//	go test ./internal/agentclient -run XXX -bench . -benchtime 5x

func benchTree(b *testing.B, files int) string {
	dir := b.TempDir()
	for i := range files {
		d := filepath.Join(dir, fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			if err := os.Mkdir(d, 0755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("file-%05d", i)), []byte("x"), 0644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

func BenchmarkList20000(b *testing.B) {
	dir := benchTree(b, 20_000)
	b.Run("agent", func(b *testing.B) {
		c := startAgent(b, agentserver.Options{})
		r, err := c.OpenRoot(context.Background(), dir, agentproto.RoleSource)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			n := 0
			if _, err := r.List(context.Background(), "", true, func(rootfs.Info) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			if n != 20_200 {
				b.Fatalf("listed %d entries", n)
			}
		}
	})
	b.Run("find-printf", func(b *testing.B) {
		if _, err := exec.LookPath("find"); err != nil {
			b.Skip("no find")
		}
		for b.Loop() {
			cmd := exec.Command("find", dir, "-mindepth", "1", "-printf", "%y %m %U %G %s %T@ %C@ %i %D %n %P\\0")
			cmd.Stdout = io.Discard
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkHash256MiB(b *testing.B) {
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, 256<<20); err != nil {
		b.Fatal(err)
	}
	f.Close()
	c := startAgent(b, agentserver.Options{})
	r, err := c.OpenRoot(context.Background(), dir, agentproto.RoleSource)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("agent-hash", func(b *testing.B) {
		b.SetBytes(256 << 20)
		for b.Loop() {
			if res, err := r.Hash(context.Background(), "big", nil); err != nil || res.Size != 256<<20 {
				b.Fatal(res, err)
			}
		}
	})
	b.Run("agent-read-over-pipe", func(b *testing.B) {
		b.SetBytes(256 << 20)
		for b.Loop() {
			if res, err := r.Read(context.Background(), "big", nil, 0, -1, io.Discard); err != nil || res.Size != 256<<20 {
				b.Fatal(res, err)
			}
		}
	})
	b.Run("sha256sum", func(b *testing.B) {
		if _, err := exec.LookPath("sha256sum"); err != nil {
			b.Skip("no sha256sum")
		}
		b.SetBytes(256 << 20)
		for b.Loop() {
			cmd := exec.Command("sha256sum", filepath.Join(dir, "big"))
			cmd.Stdout = io.Discard
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWrite1000Small writes 1,000 files of 1 KiB through the agent,
// 16 in flight, each its own temporary file, meta and rename.
func BenchmarkWrite1000Small(b *testing.B) {
	c := startAgent(b, agentserver.Options{})
	dir := b.TempDir()
	r, err := c.OpenRoot(context.Background(), dir, agentproto.RoleTarget)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 1024)
	m := rootfs.Meta{SetMode: true, Mode: 0644, SetTimes: true, MtimeNs: 1e18, AtimeNs: 1e18}
	round := 0
	for b.Loop() {
		round++
		sub := fmt.Sprintf("r%d", round)
		if err := r.Mkdir(context.Background(), sub, 0755); err != nil {
			b.Fatal(err)
		}
		sem := make(chan struct{}, 16)
		errs := make(chan error, 1000)
		for i := range 1000 {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				_, err := r.Write(context.Background(), fmt.Sprintf("%s/f%04d", sub, i), bytes.NewReader(data), WriteOptions{Meta: m})
				errs <- err
			}()
		}
		for range 1000 {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
}
