package plans

import (
	"fmt"
	"path"
	"strings"
)

// targetCopy is one copy set with the host it writes to.
type targetCopy struct {
	app  *Application
	c    *Copy
	host string // target identity: its address, else its name
}

// checkOverlappingTargets refuses copy sets whose `to` directories are
// equal or nested on the same target host, within one application or
// across applications: with delete = true one set would delete the other's
// files and manifests, and a verified tree could be changed afterwards by
// the other set. Each overlapping `to` is reported once, naming the other.
func (l *loader) checkOverlappingTargets() {
	byHost := map[string][]targetCopy{}
	var hosts []string
	for _, ad := range l.appOrder {
		a := ad.a
		for _, c := range a.Copies {
			t := a.CopyTarget(c)
			if t == nil {
				continue
			}
			host := t.Address
			if host == "" {
				host = "host." + t.Name
			}
			if path.IsAbs(c.To) {
				if byHost[host] == nil {
					hosts = append(hosts, host)
				}
				byHost[host] = append(byHost[host], targetCopy{app: a, c: c, host: host})
			}
		}
	}
	for _, h := range hosts {
		l.reportOverlaps(byHost[h])
	}
}

// reportOverlaps checks the copy sets that write to one host.
func (l *loader) reportOverlaps(all []targetCopy) {
	for i, x := range all {
		for j, y := range all {
			if i == j || !nested(x.c.To, y.c.To) {
				continue
			}
			l.errorf(x.c.toRange, "Overlapping copy targets",
				"%s writes to %s and %s writes to %s on the same target host (%s, %s): copy targets must not be equal or nested, because one copy's delete and manifest would touch the other's files. Give each copy set its own directory.",
				copyLabel(x), x.c.To, copyLabel(y), y.c.To, x.host, posOf(y))
			break
		}
	}
}

func copyLabel(t targetCopy) string {
	return fmt.Sprintf("copy %q of application %q", t.c.Name, t.app.Name)
}

func posOf(t targetCopy) string {
	r := t.c.toRange
	return fmt.Sprintf("the other at %s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// nested reports whether two absolute paths are equal or one lies
// inside the other.
func nested(a, b string) bool {
	a, b = path.Clean(a), path.Clean(b)
	if a == b || a == "/" || b == "/" {
		return true
	}
	return strings.HasPrefix(b, a+"/") || strings.HasPrefix(a, b+"/")
}
