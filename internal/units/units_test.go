package units

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                      "0s",
		300 * time.Millisecond:                 "under 1s",
		1500 * time.Millisecond:                "2s",
		4 * time.Hour:                          "4h",
		90 * time.Minute:                       "1h30m",
		2*time.Minute + 5*time.Second:          "2m5s",
		10 * time.Minute:                       "10m",
		time.Hour + 400*time.Millisecond:       "1h",
		156*time.Second + 400*time.Millisecond: "2m36s",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{-1: "0 B", 512: "512 B", 1536: "1.5 KiB", 10 << 30: "10 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
