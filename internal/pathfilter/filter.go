package pathfilter

import (
	"fmt"
	"path"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Filter decides which entries of a copy set take part in a copy, with the
// same rules in preflight, the copy engine and the delta scan.
//
// Paths given to Excluded are relative to the copy root, slash-separated,
// without a leading "./" or "/" (e.g. "cache/2026/x.bin").
//
// Patterns use doublestar syntax (*, ?, [abc], {a,b}, ** for any number of
// directories) and follow rsync/gitignore conventions:
//   - A pattern without a slash matches the base name at any depth:
//     "*.tmp" excludes "a.tmp" and "x/y/a.tmp"; "cache" excludes every
//     file or directory named cache.
//   - A pattern with a slash is anchored at the copy root: "cache/**"
//     excludes the top-level cache directory itself and everything below
//     it; "logs/*.gz" only the .gz files directly in logs. A leading "/"
//     only anchors ("/build" is the top-level build).
//   - A trailing "/" restricts a pattern to directories ("tmp/").
//   - An excluded directory excludes all of its contents.
//   - Include patterns, when given, keep only the files that match one of
//     them (same matching rules); directories are never dropped by include
//     patterns, so the walk always descends. Excludes win over includes.
type Filter struct {
	exclude []pattern
	include []pattern
}

type pattern struct {
	glob    string // doublestar pattern without leading/trailing slash
	base    bool   // no slash: match the base name at any depth
	dirOnly bool   // trailing slash: directories only
}

// NewFilter validates the patterns of a copy set.
func NewFilter(exclude, include []string) (*Filter, error) {
	f := &Filter{}
	var err error
	if f.exclude, err = compilePatterns("exclude", exclude); err != nil {
		return nil, err
	}
	if f.include, err = compilePatterns("include", include); err != nil {
		return nil, err
	}
	return f, nil
}

func compilePatterns(kind string, in []string) ([]pattern, error) {
	var out []pattern
	for _, raw := range in {
		p := pattern{glob: strings.TrimSpace(raw)}
		if strings.HasSuffix(p.glob, "/") {
			p.dirOnly = true
			p.glob = strings.TrimRight(p.glob, "/")
		}
		anchored := strings.HasPrefix(p.glob, "/")
		p.glob = strings.TrimLeft(p.glob, "/")
		if p.glob == "" {
			return nil, fmt.Errorf("%s pattern %q matches nothing: write a file or directory pattern such as \"*.tmp\" or \"cache/**\"", kind, raw)
		}
		p.base = !anchored && !strings.Contains(p.glob, "/")
		if !doublestar.ValidatePattern(p.glob) {
			return nil, fmt.Errorf("%s pattern %q is not a valid glob (check brackets and braces)", kind, raw)
		}
		out = append(out, p)
	}
	return out, nil
}

func (p pattern) match(rel string, isDir bool) bool {
	if p.dirOnly && !isDir {
		return false
	}
	subject := rel
	if p.base {
		subject = path.Base(rel)
	}
	ok, _ := doublestar.Match(p.glob, subject) // validated in NewFilter
	return ok
}

// Excluded reports whether the entry at rel (a directory if isDir) is left
// out of the copy, either by its own name or because a parent directory is
// excluded. A nil Filter excludes nothing.
func (f *Filter) Excluded(rel string, isDir bool) bool {
	if f == nil {
		return false
	}
	rel = strings.Trim(strings.TrimPrefix(rel, "./"), "/")
	if rel == "" || rel == "." {
		return false // the copy root itself
	}
	// Parents first: "cache" excludes "cache/x/y" even though "y" does
	// not match, so callers need not walk to get the right answer.
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && f.excludedBy(rel[:i], true) {
			return true
		}
	}
	if f.excludedBy(rel, isDir) {
		return true
	}
	if len(f.include) > 0 && !isDir {
		for _, p := range f.include {
			if p.match(rel, false) {
				return false
			}
		}
		return true
	}
	return false
}

func (f *Filter) excludedBy(rel string, isDir bool) bool {
	for _, p := range f.exclude {
		if p.match(rel, isDir) {
			return true
		}
	}
	return false
}
