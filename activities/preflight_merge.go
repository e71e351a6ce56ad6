package activities

import (
	"fmt"
	"strings"
)

// spaceNeed is what one copy set needs on a target filesystem.
type spaceNeed struct {
	set   string
	at    string
	free  int64
	bytes int64
	// freeInodes (-1: unknown) and inodes: the same for inodes.
	freeInodes, inodes int64
}

// mergeFindings puts both sides' findings into res in plan order and
// returns the problems: each host's own, then per copy set, then space,
// then commands.
func mergeFindings(res *PreflightResult, in PreflightInput, sf sourceFindings, tf targetFindings) []string {
	problems := append(append([]string(nil), sf.hostProblems...), tf.hostProblems...)
	var needs []spaceNeed
	for i, cs := range in.Copies {
		s, t := sf.sets[i], tf.sets[i]
		if s.filterErr != nil {
			problems = append(problems, fmt.Sprintf("copy set %s: %v", cs.Name, s.filterErr))
			continue
		}
		srcBytes, srcEntries := int64(-1), int64(0)
		if sf.checked {
			res.Warnings = append(res.Warnings, s.warnings...)
			problems = append(problems, s.probls...)
			if len(s.probls) == 0 {
				res.SourceFiles += s.files
				res.SourceBytes += s.bytes
				srcBytes, srcEntries = s.bytes, s.entries
			}
		}
		if t.skip {
			continue
		}
		res.Warnings = append(res.Warnings, t.warnings...)
		problems = append(problems, t.probls...)
		if t.ancestor == "" {
			continue
		}
		if t.statErr != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("target %s: free space at %s unknown (statvfs@openssh.com: %v); make sure %s fit", in.Target.Name, t.ancestor, t.statErr, fmtIEC(max(srcBytes, 0))))
			continue
		}
		if res.TargetFreeBytes < 0 || t.free < res.TargetFreeBytes {
			res.TargetFreeBytes = t.free
		}
		if srcBytes >= 0 {
			needs = append(needs, spaceNeed{cs.Name, t.ancestor, t.free, max(srcBytes-t.have, 0), t.freeInodes, max(srcEntries-t.haveEntries, 0)})
		}
	}
	problems = append(problems, spaceProblems(in.Target.Name, needs)...)
	problems = append(problems, sf.cmdProblems...)
	problems = append(problems, tf.cmdProblems...)
	res.TargetHasSHA256 = tf.hasSHA256
	res.Warnings = append(res.Warnings, tf.cmdWarnings...)
	return problems
}

// spaceProblems compares what the copy sets need with the free space of
// their filesystems. Sets that land on the same filesystem share its free
// space; the statvfs free figure is the same for them, so compare the sum.
func spaceProblems(target string, needs []spaceNeed) []string {
	byAt := map[string][]spaceNeed{}
	var order []string
	for _, n := range needs {
		if _, ok := byAt[n.at]; !ok {
			order = append(order, n.at)
		}
		byAt[n.at] = append(byAt[n.at], n)
	}
	var problems []string
	for _, at := range order {
		ns := byAt[at]
		var total, inodes int64
		var names []string
		for _, n := range ns {
			total += n.bytes
			inodes += n.inodes
			names = append(names, n.set)
		}
		if total > ns[0].free {
			problems = append(problems, spaceProblem(target, ns[0].free, at, total, names))
		}
		if free := ns[0].freeInodes; free >= 0 && inodes > free {
			problems = append(problems, fmt.Sprintf("target %s has %d free inodes at %s, needs %d for %s (files, directories and symlinks); free inodes there or choose another file system",
				target, free, at, inodes, strings.Join(names, ", ")))
		}
	}
	return problems
}
