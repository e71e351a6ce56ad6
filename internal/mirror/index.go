package mirror

import "strings"

// tindex is the target tree as its walk listed it, in walk order, so a
// directory's subtree is the run of entries right after it. It belongs to
// the deciding goroutine.
type tindex struct {
	ents []Entry
	at   map[string]int
	mark []uint8 // markNone, markSeen (the source has it), markGone (removed)
}

const (
	markNone uint8 = iota
	markSeen
	markGone
)

func (x *tindex) add(e Entry) {
	if x.at == nil {
		x.at = map[string]int{}
	}
	x.at[e.Name] = len(x.ents)
	x.ents = append(x.ents, e)
	x.mark = append(x.mark, markNone)
}

// take returns the target entry at rel and marks it seen; i is -1 when
// the target has nothing (left) there.
func (x *tindex) take(rel string) (Entry, int) {
	i, ok := x.at[rel]
	if !ok || x.mark[i] == markGone {
		return Entry{}, -1
	}
	x.mark[i] = markSeen
	return x.ents[i], i
}

// subtreeEnd is the index past the last descendant of entry i.
func (x *tindex) subtreeEnd(i int) int {
	if x.ents[i].Name == "" {
		return len(x.ents)
	}
	prefix := x.ents[i].Name + "/"
	j := i + 1
	for j < len(x.ents) && strings.HasPrefix(x.ents[j].Name, prefix) {
		j++
	}
	return j
}

// markTree marks entry i and its subtree; it returns how many entries
// that is.
func (x *tindex) markTree(i int, m uint8) int64 {
	end := x.subtreeEnd(i)
	for j := i; j < end; j++ {
		x.mark[j] = m
	}
	return int64(end - i)
}

// children names the entries below i that are not engine temporaries.
func (x *tindex) holdsOwn(i int) (string, int) {
	end := x.subtreeEnd(i)
	first, n := "", 0
	for j := i + 1; j < end; j++ {
		if x.mark[j] == markGone || reserved(baseName(x.ents[j].Name)) {
			continue
		}
		if n == 0 {
			first = x.ents[j].Name
		}
		n++
	}
	return first, n
}

func baseName(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[i+1:]
	}
	return rel
}

func parentOf(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

// Temporary names: rootfs's and the SFTP engine's. A source entry with
// such a name is refused; a target entry with one is a leftover of a
// crashed attempt and removed.
const (
	tmpPrefix     = ".umzug-tmp-"
	tmpPrefixSFTP = ".umzug-tmp."
)

func reserved(name string) bool {
	return strings.HasPrefix(name, tmpPrefix) || strings.HasPrefix(name, tmpPrefixSFTP)
}
