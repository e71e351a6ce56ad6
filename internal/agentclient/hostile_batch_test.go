package agentclient

import (
	"context"
	"io"
	"testing"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// batchAgent answers OpenRoot, and every ReadBatch with the given items
// and a Result counting count: a compromised host's agent.
func batchAgent(t *testing.T, items []agentproto.BatchItem, count uint64) *Client {
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
			switch f.Type {
			case agentproto.TReadBatch:
				for _, it := range items {
					_ = w.Write(agentproto.TBatchItem, f.ID, it.Encode())
				}
				_ = w.Write(agentproto.TResult, f.ID, (&agentproto.Result{Count: count}).Encode())
			case agentproto.TOpenRoot:
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

// A read batch takes from the agent one item per file, each with the
// bytes the walk listed, or nothing at all.
func TestReadBatchRefusesAHostileAgent(t *testing.T) {
	files := []BatchRead{{Rel: "a", Expect: rootfs.Identity{Size: 3}}, {Rel: "b", Expect: rootfs.Identity{Size: 1}}}
	good := func(i uint32, data string) agentproto.BatchItem {
		return agentproto.BatchItem{Index: i, Size: int64(len(data)), Data: []byte(data)}
	}
	for name, tc := range map[string]struct {
		items []agentproto.BatchItem
		count uint64
	}{
		"index out of range": {[]agentproto.BatchItem{good(0, "abc"), good(2, "x")}, 2},
		"index twice":        {[]agentproto.BatchItem{good(0, "abc"), good(0, "abc")}, 2},
		"a file missing":     {[]agentproto.BatchItem{good(0, "abc")}, 1},
		"count disagrees":    {[]agentproto.BatchItem{good(0, "abc"), good(1, "x")}, 3},
		"more than listed":   {[]agentproto.BatchItem{good(0, "abcd"), good(1, "x")}, 2},
		"size not the data":  {[]agentproto.BatchItem{{Index: 0, Size: 3, Data: []byte("ab")}, good(1, "x")}, 2},
	} {
		c := batchAgent(t, tc.items, tc.count)
		r, err := c.OpenRoot(context.Background(), "/x", agentproto.RoleSource)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := r.ReadBatch(context.Background(), files); err == nil || res != nil {
			t.Errorf("%s: accepted (%v)", name, res)
		}
	}
	c := batchAgent(t, []agentproto.BatchItem{good(1, "x"), good(0, "abc")}, 2)
	r, _ := c.OpenRoot(context.Background(), "/x", agentproto.RoleSource)
	if res, err := r.ReadBatch(context.Background(), files); err != nil || string(res[0].Data) != "abc" || string(res[1].Data) != "x" {
		t.Fatalf("good items refused: %v", err)
	}
}
