package units

import (
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// Bytes formats n with binary units, "1.2 GiB", "512 B"; a negative
// count (never meaningful) prints as 0 B.
func Bytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

// Duration formats d rounded to seconds without trailing zero units:
// "4h", "1h30m", "2m5s". A positive duration under half a second is
// "under 1s", not "0s", so a short estimate does not read as none.
func Duration(d time.Duration) string {
	if d > 0 && d < time.Second/2 {
		return "under 1s"
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
