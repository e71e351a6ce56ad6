package agentclient

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// fakeAgent answers OpenRoot and then every List with entries named as
// given: a compromised host's agent.
func fakeAgent(t *testing.T, names []string) *Client {
	t.Helper()
	ar, cw := io.Pipe()
	cr, aw := io.Pipe()
	go func() {
		w := agentproto.NewWriter(aw)
		_ = w.WriteRaw([]byte(agentproto.Magic))
		_ = w.Write(agentproto.THello, 0, agentproto.Hello{Proto: agentproto.Version}.Encode())
		fr := agentproto.NewReader(ar)
		for {
			f, err := fr.Read()
			if err != nil {
				aw.Close()
				return
			}
			if f.Type == agentproto.TList {
				var e agentproto.Enc
				e.U32(uint32(len(names)))
				for _, n := range names {
					agentproto.EncodeEntry(&e, rootfs.Info{Name: n, Type: rootfs.TypeFile})
				}
				_ = w.Write(agentproto.TEntries, f.ID, e.B)
			}
			if f.Type.IsRequest() {
				_ = w.Write(agentproto.TResult, f.ID, (&agentproto.Result{Root: 1}).Encode())
			}
		}
	}()
	c, err := New(context.Background(), cr, cw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestListRefusesNamesOutsideFromAHostileAgent(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		name string
	}{{"", "../etc/passwd"}, {"", "/etc/passwd"}, {"", "a//b"}, {"sub", "other/f"}, {"sub", "sub"}, {"sub", "subx/f"}} {
		c := fakeAgent(t, []string{tc.name})
		r, err := c.OpenRoot(context.Background(), "/x", agentproto.RoleSource)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		_, err = r.List(context.Background(), tc.dir, true, func(i rootfs.Info) error { got = append(got, i.Name); return nil })
		if err == nil || !strings.Contains(err.Error(), "not below it") || len(got) != 0 {
			t.Errorf("List(%q) with the agent naming %q: %v, delivered %v", tc.dir, tc.name, err, got)
		}
	}
	c := fakeAgent(t, []string{"sub/ok"})
	r, _ := c.OpenRoot(context.Background(), "/x", agentproto.RoleSource)
	if n, err := r.List(context.Background(), "sub", true, func(rootfs.Info) error { return nil }); err != nil || n != 0 {
		t.Fatalf("a good name refused: %v", err)
	}
}
