package plans

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// parseDuration accepts Go durations ("90s", "2h30m") plus whole days
// ("3d", "1d12h"), because approval timeouts and soaks are often days.
func parseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var days int64
	if i := strings.IndexByte(in, 'd'); i >= 0 {
		n, err := strconv.ParseInt(in[:i], 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration (examples: \"90s\", \"4h\", \"2h30m\", \"3d\")", s)
		}
		days, in = n, in[i+1:]
		if days > math.MaxInt64/int64(24*time.Hour) {
			return 0, fmt.Errorf("%q is too long", s)
		}
	}
	var rest time.Duration
	if in != "" {
		d, err := time.ParseDuration(in)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (examples: \"90s\", \"4h\", \"2h30m\", \"3d\")", s)
		}
		if d < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		rest = d
	}
	total := time.Duration(days)*24*time.Hour + rest
	if total < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return total, nil
}

// byteUnits are the units a bandwidth may use, in bytes.
var byteUnits = map[string]float64{
	"B":  1,
	"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
	"kbit": 1e3 / 8, "Mbit": 1e6 / 8, "Gbit": 1e9 / 8,
}

// parseBandwidth turns "50MiB/s" or "1Gbit/s" into bytes per second.
func parseBandwidth(s string) (int64, error) {
	const hint = `write a rate like "50MiB/s", "800KB/s" or "1Gbit/s"`
	in := strings.TrimSpace(s)
	num, ok := strings.CutSuffix(in, "/s")
	if !ok {
		return 0, fmt.Errorf("%q has no \"/s\"; %s", s, hint)
	}
	i := 0
	for i < len(num) && (num[i] >= '0' && num[i] <= '9' || num[i] == '.') {
		i++
	}
	unit := strings.TrimSpace(num[i:])
	mult, known := byteUnits[unit]
	if i == 0 || !known {
		return 0, fmt.Errorf("%q is not a bandwidth; %s", s, hint)
	}
	f, err := strconv.ParseFloat(num[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a bandwidth; %s", s, hint)
	}
	v := f * mult
	if v < 1 || v > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is out of range (at least 1B/s)", s)
	}
	return int64(v), nil
}

// normalizeAddress returns host:port with port 22 when none is given.
func normalizeAddress(s string) (string, error) {
	if strings.TrimSpace(s) != s || s == "" {
		return "", fmt.Errorf("%q is not an address; write \"host:port\" or \"host\" (port 22)", s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a plain name, IPv4 address or bare IPv6 address.
		if strings.Contains(s, "[") || strings.Contains(s, "]") || strings.Count(s, ":") == 1 {
			return "", fmt.Errorf("%q is not an address; write \"host:port\" or \"host\" (port 22)", s)
		}
		host, port = s, "22"
	}
	if host == "" || strings.ContainsAny(host, " /@") {
		return "", fmt.Errorf("%q has no valid host name; write \"host:port\"", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q has port %q; a port is a number from 1 to 65535", s, port)
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}
