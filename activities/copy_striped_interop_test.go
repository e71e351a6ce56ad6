//go:build interop

package activities

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
)

// Against real OpenSSH (its sftp-server, its login shell running the
// hashing loop), a file of many stripes is hashed on the target as it
// lands, the whole file covered, and arrives byte-identical.
func TestInteropStripedVerifiesWhileCopying(t *testing.T) {
	f := realFixture(t)
	f.a.Options.StripeFrom, f.a.Options.StripeBytes = 4<<20, 4<<20
	const size = 29<<20 + 3
	data := randBytes(25, size)
	writeFile(t, filepath.Join(f.srcRoot, "vm/disk.img"), data, 0o600, time.Unix(1700000000, 0))
	var log hashLog
	log.install(t, size, nil)
	res := f.copy(t, f.input(CopySet{}))
	if res.Verified != 1 || res.Recopied != 0 {
		t.Errorf("verified %d recopied %d", res.Verified, res.Recopied)
	}
	if got := log.covered(t); got != size || log.early == 0 {
		t.Errorf("the target hashed %d of %d bytes as they landed, %d ranges before the last write", got, size, log.early)
	}
	if got := manifestSum(t, res, "vm/disk.img"); got != sumHex(data) {
		t.Errorf("manifest sha256 %s, want %s", got, sumHex(data))
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}
