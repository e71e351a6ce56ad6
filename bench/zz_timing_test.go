//go:build interop

package bench

import (
	"bytes"
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities"
)

func BenchmarkZZDial(b *testing.B) {
	e := getEnv(b)
	for b.Loop() {
		h := e.host("dst", e.dst)
		for i := 0; i < 3; i++ {
			t0 := time.Now()
			c, err := activities.DefaultDialer{}.Dial(context.Background(), h)
			if err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			cl, err := c.SFTP()
			if err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			cl.Stat("/")
			t3 := time.Now()
			var o bytes.Buffer
			c.Run(context.Background(), "command -v sha256sum", nil, &o, &o)
			t4 := time.Now()
			c.Close()
			b.Logf("dial %v sftp %v stat %v exec %v", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3))
		}
		t0 := time.Now()
		out, err := exec.Command(e.sshCmd(e.dst)[0], append(e.sshCmd(e.dst)[1:], "root@127.0.0.1", "true")...).CombinedOutput()
		b.Logf("ssh true: %v %v %s", time.Since(t0), err, out)
	}
}
