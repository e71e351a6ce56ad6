package pathfilter

import "testing"

func TestFilterSemantics(t *testing.T) {
	cases := []struct {
		exclude, include []string
		rel              string
		dir              bool
		want             bool
	}{
		// Base-name patterns match at any depth.
		{[]string{"*.tmp"}, nil, "a.tmp", false, true},
		{[]string{"*.tmp"}, nil, "x/y/a.tmp", false, true},
		{[]string{"*.tmp"}, nil, "x/y/a.tmpx", false, false},
		{[]string{"cache"}, nil, "sub/cache", true, true},
		{[]string{"cache"}, nil, "sub/cache/deep/file", false, true},
		// Anchored patterns: "cache/**" excludes the dir and its contents,
		// only at the root.
		{[]string{"cache/**"}, nil, "cache", true, true},
		{[]string{"cache/**"}, nil, "cache/a/b.bin", false, true},
		{[]string{"cache/**"}, nil, "sub/cache/a", false, false},
		{[]string{"cache/**"}, nil, "cachex/a", false, false},
		{[]string{"/build"}, nil, "build/out", false, true},
		{[]string{"/build"}, nil, "src/build", true, false},
		{[]string{"logs/*.gz"}, nil, "logs/a.gz", false, true},
		{[]string{"logs/*.gz"}, nil, "logs/old/a.gz", false, false},
		{[]string{"**/*.gz"}, nil, "logs/old/a.gz", false, true},
		// Trailing slash: directories only.
		{[]string{"tmp/"}, nil, "tmp", false, false},
		{[]string{"tmp/"}, nil, "a/tmp", true, true},
		{[]string{"tmp/"}, nil, "a/tmp/f", false, true},
		// Includes keep matching files only, always descend into dirs.
		{nil, []string{"*.conf"}, "etc/x.conf", false, false},
		{nil, []string{"*.conf"}, "etc/x.txt", false, true},
		{nil, []string{"*.conf"}, "etc", true, false},
		{nil, []string{"config/**"}, "config/a/b", false, false},
		{nil, []string{"config/**"}, "data/a", false, true},
		// Excludes win over includes.
		{[]string{"secret*"}, []string{"*.conf"}, "secret.conf", false, true},
		// The root is never excluded; "./" prefixes are tolerated.
		{[]string{"**"}, nil, "", true, false},
		{[]string{"*.tmp"}, nil, "./a.tmp", false, true},
		{nil, nil, "anything", false, false},
	}
	for _, c := range cases {
		f, err := NewFilter(c.exclude, c.include)
		if err != nil {
			t.Fatalf("NewFilter(%q, %q): %v", c.exclude, c.include, err)
		}
		if got := f.Excluded(c.rel, c.dir); got != c.want {
			t.Errorf("exclude %q include %q: Excluded(%q, dir=%v) = %v, want %v", c.exclude, c.include, c.rel, c.dir, got, c.want)
		}
	}
	var nilFilter *Filter
	if nilFilter.Excluded("x", false) {
		t.Error("nil filter excluded something")
	}
}

func TestFilterRejectsBadPatterns(t *testing.T) {
	for _, p := range []string{"[abc", "/", "a{b"} {
		if _, err := NewFilter([]string{p}, nil); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}
