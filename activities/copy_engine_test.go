package activities

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Helpers that let one copy test run through either engine
// (UMZUG_TEST_COPY_ENGINE): the engines keep their identity state under
// different names and formats and report their verification by different
// names; what the tests assert about them is the same.

func (f *copyFixture) agentEngine() bool { return f.a.agentEngine() }

// stateName is the file name of the identity state of set for f's engine.
func (f *copyFixture) stateName(set string) string {
	if f.agentEngine() {
		return sanitizeName(set) + agentStateSuffix
	}
	return sanitizeName(set) + "-verified.bin"
}

// verifiedByDigest is how f's engine names a verification that compared
// the digests of both hosts: the classic engine runs sha256sum on the
// target, the agent hashes as it writes.
func (f *copyFixture) verifiedByDigest() string {
	if f.agentEngine() {
		return verifiedByAgent
	}
	return verifiedBySum
}

// wantTreeWalk checks that a final sync walked the trees the engine's
// fast way: the classic engine from one find listing per host, the agent
// engine through an agent on each host.
func (f *copyFixture) wantTreeWalk(t *testing.T, trace string) {
	t.Helper()
	want, n := "walk from one find listing per host", 1
	if f.agentEngine() {
		want, n = "umzug-agent on ", 2
	}
	if strings.Count(trace, want) < n {
		t.Errorf("final sync did not walk the trees through %q; trace:\n%s", want, trace)
	}
}

// forgeState rewrites the state file as its owner could: the record of
// rel vouches for now as the source's (src) or the target's identity.
func (f *copyFixture) forgeState(t *testing.T, state, rel string, src bool, now fileIdent) {
	t.Helper()
	if !f.agentEngine() {
		forgeState(t, state, rel, src, now)
		return
	}
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	// internal/mirror/state.go: magic, then per record uvarint path
	// length, path, 32 digest bytes, source and target identities as
	// varint size, mtime, ctime and uvarint inode, device.
	const magic = "umzug-mirror-state 1\n"
	if !bytes.HasPrefix(data, []byte(magic)) {
		t.Fatalf("%s is not a mirror state", state)
	}
	b := data[len(magic):]
	out := append([]byte(nil), magic...)
	found := false
	for len(b) > 0 {
		start := len(data) - len(b)
		n, k := binary.Uvarint(b)
		p := string(b[k : k+int(n)])
		b = b[k+int(n)+32:]
		var ids [2]fileIdent
		for i := range ids {
			var m int
			ids[i].Size, m = binary.Varint(b)
			b = b[m:]
			ids[i].MtimeNs, m = binary.Varint(b)
			b = b[m:]
			ids[i].CtimeNs, m = binary.Varint(b)
			b = b[m:]
			ids[i].Inode, m = binary.Uvarint(b)
			b = b[m:]
			ids[i].Dev, m = binary.Uvarint(b)
			b = b[m:]
		}
		if p != rel {
			out = append(out, data[start:len(data)-len(b)]...)
			continue
		}
		found = true
		if src {
			ids[0] = now
		} else {
			ids[1] = now
		}
		out = append(out, data[start:start+k+int(n)+32]...)
		for _, id := range ids {
			out = binary.AppendVarint(out, id.Size)
			out = binary.AppendVarint(out, id.MtimeNs)
			out = binary.AppendVarint(out, id.CtimeNs)
			out = binary.AppendUvarint(out, id.Inode)
			out = binary.AppendUvarint(out, id.Dev)
		}
	}
	if !found {
		t.Fatalf("state holds no record of %s", rel)
	}
	if err := os.WriteFile(state, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// classicOnly runs f's copies through the classic engine, the fallback
// for hosts that run no agent: the test is of a detail only that engine
// has (why says where the agent engine's counterpart is tested).
func (f *copyFixture) classicOnly(t *testing.T, why string) {
	t.Helper()
	f.a.CopyEngine = CopyEngineClassic
	t.Logf("classic engine: %s", why)
}

// corruptAgentWrites makes the agent engine's target receive rel with its
// first byte flipped, once or on every write; the afterPlace hook is then
// not called (it would corrupt the placed file, which the agent engine
// does not read back). A no-op for the classic engine.
func (f *copyFixture) corruptAgentWrites(rel string, always bool) {
	if !f.agentEngine() {
		return
	}
	f.a.hooks.afterPlace = nil
	var n atomic.Int64
	f.a.hooks.wrapAgentTarget = func(s mirror.Side) mirror.Side {
		return corruptingTarget{Side: s, rel: rel, flip: func() bool { return n.Add(1) == 1 || always }}
	}
}

type corruptingTarget struct {
	mirror.Side
	rel  string
	flip func() bool
}

func (c corruptingTarget) WriteFile(ctx context.Context, rel string, m rootfs.Meta, r io.Reader) (mirror.Placed, error) {
	if rel == c.rel && c.flip() {
		r = &flipFirst{r: r}
	}
	return c.Side.WriteFile(ctx, rel, m, r)
}

// flipFirst flips the first byte read through it.
type flipFirst struct {
	r    io.Reader
	done bool
}

func (f *flipFirst) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if n > 0 && !f.done {
		b[0] ^= 1
		f.done = true
	}
	return n, err
}
