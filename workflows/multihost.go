package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/units"
)

// Applications that span several hosts: copy sets with their own source
// and target (CopySet.SourceHost, TargetHost), blocks on any host
// (Block.On "host.NAME") and parallel groups (Block.Group).

// changeMultiHost is the workflow.GetVersion change ID of multi-host
// moves: extra hosts preflighted, copy sets on their own host pairs,
// final syncs of different pairs and parallel groups run at once. It is
// asked only for inputs that use any of these, so single-host histories
// replay without its marker; a multi-host input run by a build without it
// replays as it ran (every set and block on the application's hosts, in
// order).
const changeMultiHost = "multi-host-application"

// onHostPrefix starts a Block.On that names a host of MoveInput.Hosts.
const onHostPrefix = "host."

// spansHosts reports whether the input uses any multi-host feature.
func (in MoveInput) spansHosts() bool {
	if len(in.Hosts) > 0 {
		return true
	}
	for _, s := range in.Copies {
		if s.SourceHost != "" || s.TargetHost != "" {
			return true
		}
	}
	for _, bs := range [][]Block{in.Cutover.Blocks, in.FailbackBlocks} {
		for _, b := range bs {
			if b.Group > 0 || strings.HasPrefix(b.On, onHostPrefix) {
				return true
			}
		}
	}
	return false
}

// hostNamed is the host of the subject or of hosts called name; ok is
// false when there is none.
func hostNamed(s Subject, hosts []contract.Host, name string) (contract.Host, bool) {
	switch name {
	case s.Source.Name:
		return s.Source, true
	case s.Target.Name:
		return s.Target, true
	}
	for _, h := range hosts {
		if h.Name == name {
			return h, true
		}
	}
	return contract.Host{}, false
}

// copyPair is the host pair a copy set copies between. A name that does
// not resolve falls back to the application's host (launch validates the
// names; a hostile input cannot reach an unnamed host this way).
func copyPair(s Subject, hosts []contract.Host, set contract.CopySet) (src, tgt contract.Host) {
	src, tgt = s.Source, s.Target
	if h, ok := hostNamed(s, hosts, set.SourceHost); ok && set.SourceHost != "" {
		src = h
	}
	if h, ok := hostNamed(s, hosts, set.TargetHost); ok && set.TargetHost != "" {
		tgt = h
	}
	return src, tgt
}

// CopyHosts is the host pair a copy set of a move copies between (the
// audit reads each set's manifest from its own target).
func CopyHosts(in MoveInput, set contract.CopySet) (src, tgt contract.Host) {
	return copyPair(in.Subject, in.Hosts, set)
}

// pair is the host pair of a copy set in this move.
func (m *move) pair(set contract.CopySet) (src, tgt contract.Host) {
	if !m.multi {
		return m.in.Source, m.in.Target
	}
	return copyPair(m.in.Subject, m.in.Hosts, set)
}

// pairGroups splits the copy sets by host pair, in the order each pair
// first appears.
func (m *move) pairGroups() [][]contract.CopySet {
	var keys []string
	by := map[string][]contract.CopySet{}
	for _, set := range m.in.Copies {
		s, t := m.pair(set)
		k := s.Name + "\x00" + t.Name
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], set)
	}
	out := make([][]contract.CopySet, 0, len(keys))
	for _, k := range keys {
		out = append(out, by[k])
	}
	return out
}

// stepHostName is the host name a block's On names ("" for source and
// target).
func stepHostName(on string) string {
	if name, ok := strings.CutPrefix(on, onHostPrefix); ok {
		return name
	}
	return ""
}

// setConnSince names a wait in every host of the move.
func (m *move) setConnSince(name string) {
	m.in.Source.ConnSince, m.in.Target.ConnSince = name, name
	for i := range m.in.Hosts {
		m.in.Hosts[i].ConnSince = name
	}
}

// hostList fills Status.Hosts: every host of a multi-host move and what
// it does.
func (m *move) hostList() []MoveHost {
	var out []MoveHost
	idx := map[string]int{}
	add := func(h contract.Host, role string) {
		i, ok := idx[h.Name]
		if !ok {
			i = len(out)
			idx[h.Name] = i
			out = append(out, MoveHost{Name: h.Name, Datacenter: h.Datacenter})
		}
		if !slices.Contains(out[i].Roles, role) {
			out[i].Roles = append(out[i].Roles, role)
		}
	}
	add(m.in.Source, "source")
	add(m.in.Target, "target")
	for _, set := range m.in.Copies {
		s, t := m.pair(set)
		add(s, "copy source")
		add(t, "copy target")
	}
	for _, b := range m.in.Cutover.Blocks {
		if b.Kind != BlockFinalSync {
			add(m.host(b.On), "steps")
		}
	}
	return out
}

// noteFingerprint records the host key preflight verified for a host.
func (m *move) noteFingerprint(name, fp string) {
	for i := range m.st.Hosts {
		if m.st.Hosts[i].Name == name && fp != "" {
			m.st.Hosts[i].Fingerprint = fp
		}
	}
}

// preflightUnit is one Preflight activity of a multi-host move: a copy
// host pair with its sets, or a host that only runs commands (Source and
// Target the same host, no sets).
type preflightUnit struct {
	src, tgt contract.Host
	sets     []contract.CopySet
}

// preflightUnits covers every host of the move: the application's pair
// (with its sets), each other copy pair, then each host that only runs
// commands.
func (m *move) preflightUnits() []preflightUnit {
	units := []preflightUnit{{src: m.in.Source, tgt: m.in.Target}}
	covered := map[string]bool{m.in.Source.Name: true, m.in.Target.Name: true}
	for _, g := range m.pairGroups() {
		s, t := m.pair(g[0])
		if s.Name == m.in.Source.Name && t.Name == m.in.Target.Name {
			units[0].sets = g
			continue
		}
		units = append(units, preflightUnit{src: s, tgt: t, sets: g})
		covered[s.Name], covered[t.Name] = true, true
	}
	for _, b := range m.in.Cutover.Blocks {
		if b.Kind == BlockFinalSync {
			continue
		}
		h := m.host(b.On)
		if !covered[h.Name] {
			covered[h.Name] = true
			units = append(units, preflightUnit{src: h, tgt: h})
		}
	}
	return units
}

// preflightMulti runs one Preflight per unit at once, each on its
// target's queue, and merges the results: counts add up, warnings are
// kept, every host's verified key lands in Status.Hosts.
func (m *move) preflightMulti(ctx workflow.Context, secrets []workflow.Future) bool {
	if bad := m.unknownHosts(); len(bad) > 0 {
		m.endBeforeCutover(PhaseFailed, fmt.Sprintf("preflight failed: the move names hosts its input does not describe (%s); "+
			"start it from a plan (`umzug run`), which resolves every host; nothing changed on the source", strings.Join(bad, "; ")))
		return false
	}
	words := m.commandWordsByHost()
	us := m.preflightUnits()
	futs := make([]workflow.Future, len(us))
	for i, u := range us {
		in := contract.PreflightInput{MoveID: m.id, Source: u.src, Target: u.tgt, Copies: u.sets,
			TargetCommands: words[u.tgt.Name]}
		if u.src.Name != u.tgt.Name {
			in.SourceCommands = words[u.src.Name]
		}
		futs[i] = workflow.ExecuteActivity(preflightOptions(ctx, u.tgt), contract.NamePreflight, in)
	}
	var problems []string
	var firstErr error
	merged := contract.PreflightResult{TargetFreeBytes: -1}
	for i, f := range futs {
		var res contract.PreflightResult
		if err := f.Get(ctx, &res); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			problems = append(problems, cause(err))
			continue
		}
		if i == 0 {
			merged = res
		} else {
			merged.SourceFiles += res.SourceFiles
			merged.SourceBytes += res.SourceBytes
			merged.Warnings = append(merged.Warnings, res.Warnings...)
		}
		m.noteFingerprint(us[i].src.Name, res.SourceFingerprint)
		m.noteFingerprint(us[i].tgt.Name, res.TargetFingerprint)
	}
	for _, f := range secrets {
		if err := f.Get(ctx, nil); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			problems = append(problems, cause(err))
		}
	}
	if firstErr != nil {
		if len(problems) > 1 && ctx.Err() == nil {
			m.endBeforeCutover(PhaseFailed, fmt.Sprintf("preflight failed: %s; nothing changed on the source", strings.Join(problems, "; ")))
		} else {
			m.endBeforeCutover(PhaseFailed, failedBefore(ctx, "preflight", firstErr))
		}
		return false
	}
	m.st.Preflight = &merged
	return true
}

// commandWordsByHost lists the first word of every step, undo and check
// command per host name (see commandWords).
func (m *move) commandWordsByHost() map[string][]string {
	seen := map[string][]string{}
	var order []string
	for _, b := range m.in.Cutover.Blocks {
		if b.Kind == BlockFinalSync {
			continue
		}
		h := m.host(b.On).Name
		if _, ok := seen[h]; !ok {
			order = append(order, h)
		}
		for _, c := range []string{b.Run, b.Undo} {
			if w := firstWord(c); w != "" {
				seen[h] = append(seen[h], w)
			}
		}
	}
	for _, h := range order {
		seen[h] = sortedUnique(seen[h])
	}
	return seen
}

// firstWord is a command's first word after VAR=value assignments.
func firstWord(c string) string {
	for _, w := range strings.Fields(c) {
		if strings.Contains(w, "=") && !strings.HasPrefix(w, "=") && !strings.ContainsAny(w, "/") {
			continue
		}
		return w
	}
	return ""
}

// secretHosts groups the secrets of the cutover's commands per host (in
// the order hosts first appear) for the CheckSecrets activities.
func (m *move) secretHosts() (order []string, names map[string][]string, hosts map[string]contract.Host) {
	names, hosts = map[string][]string{}, map[string]contract.Host{}
	for _, b := range m.in.Cutover.Blocks {
		if len(b.Secrets) == 0 {
			continue
		}
		h := m.host(b.On)
		if _, ok := hosts[h.Name]; !ok {
			order = append(order, h.Name)
			hosts[h.Name] = h
		}
		names[h.Name] = append(names[h.Name], b.Secrets...)
	}
	return order, names, hosts
}

// checkSecretsMulti starts one CheckSecrets activity per host whose
// commands use secrets, on that host's queue.
func (m *move) checkSecretsMulti(ctx workflow.Context) []workflow.Future {
	order, names, hosts := m.secretHosts()
	var out []workflow.Future
	for _, n := range order {
		h := hosts[n]
		side := "host " + n
		in := contract.CheckSecretsInput{MoveID: m.id, Side: side, Host: h, Names: sortedUnique(names[n])}
		out = append(out, workflow.ExecuteActivity(secretsOptions(ctx, h), contract.NameCheckSecrets, in))
	}
	return out
}

// groupAt returns the blocks of the parallel group starting at i (just
// blocks[i] when it is in none, or the move predates groups) and the
// index after them.
func (m *move) groupAt(blocks []Block, i int) ([]Block, int) {
	j := i + 1
	if m.multi && blocks[i].Group > 0 {
		for j < len(blocks) && blocks[j].Group == blocks[i].Group {
			j++
		}
	}
	return blocks[i:j], j
}

// runGroup runs a parallel group's blocks at once and waits for all of
// them; the first error (in the group's order) is returned.
func (m *move) runGroup(ctx workflow.Context, group []Block, run func(workflow.Context, Block) error) error {
	errs := make([]error, len(group))
	wg := workflow.NewWaitGroup(ctx)
	for i, b := range group {
		wg.Add(1)
		workflow.Go(ctx, func(gctx workflow.Context) {
			defer wg.Done()
			errs[i] = run(gctx, b)
		})
	}
	wg.Wait(ctx)
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("parallel group %d: %s", group[0].Group, strings.Join(msgs, "; "))
	}
	return nil
}

// finalSyncPairs runs the final sync of each host pair at once, each on
// its target's queue; within a pair, sets run in order.
func (m *move) finalSyncPairs(ctx workflow.Context, groups [][]contract.CopySet) error {
	errs := make([]error, len(groups))
	wg := workflow.NewWaitGroup(ctx)
	for i, g := range groups {
		wg.Add(1)
		workflow.Go(ctx, func(gctx workflow.Context) {
			defer wg.Done()
			for _, set := range g {
				if errs[i] = m.finalSyncSet(gctx, set); errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait(ctx)
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return nil
}

// predictMulti is predict for multi-host moves: blocks in order, a
// parallel group counting its longest member, and a final sync counting
// its slowest host pair (each pair's sets add up). Each group counts
// where predict counts its blocks: stop before the final sync, start
// after it, checks, or final sync when it holds the final sync.
func (m *move) predictMulti(ctx workflow.Context) (time.Duration, string, error) {
	var stop, sync, start, checks time.Duration
	synced := false
	blocks := m.in.Cutover.Blocks
	for i := 0; i < len(blocks); {
		group, next := m.groupAt(blocks, i)
		i = next
		var longest time.Duration
		hasSync, allChecks := false, true
		for _, b := range group {
			var d time.Duration
			switch b.Kind {
			case BlockStep:
				d, allChecks = m.estimate(b), false
			case BlockCheck:
				d = m.checkEstimate(b)
			case BlockFinalSync:
				allChecks = false
				if synced {
					continue // a second final_sync finds (almost) nothing
				}
				synced, hasSync = true, true
				for _, g := range m.pairGroups() {
					var pd time.Duration
					for _, set := range g {
						src, tgt := m.pair(set)
						in := contract.CopyInput{MoveID: m.id, Phase: contract.PhaseFinalSync, Source: src,
							Target: tgt, Set: set, Delete: set.Delete, IdentState: m.identState[set.Name]}
						var est contract.DeltaEstimate
						if err := workflow.ExecuteActivity(estimateOptions(ctx, tgt), contract.NameEstimateDelta, in).Get(ctx, &est); err != nil {
							return 0, "", fmt.Errorf("estimate delta of copy set %s: %w", set.Name, err)
						}
						pd += CopyEstimate(est, m.seedRate[set.Name])
					}
					d = max(d, pd)
				}
			}
			longest = max(longest, d)
		}
		switch {
		case hasSync:
			sync += longest
		case allChecks:
			checks += longest
		case synced:
			start += longest
		default:
			stop += longest
		}
	}
	parts := []string{}
	for _, p := range []struct {
		n string
		d time.Duration
	}{{"stop", stop}, {"final sync", sync}, {"start", start}, {"checks", checks}} {
		parts = append(parts, p.n+" "+units.Duration(p.d))
	}
	parts = append(parts, "a parallel group counts its longest member")
	if r := m.st.Rehearsed; r != nil {
		parts = append(parts, "steps and checks as measured in rehearsal "+r.ID)
	}
	return stop + sync + start + checks, strings.Join(parts, ", "), nil
}

// sourceSite reports whether a block's named host stands with the source
// (a copy source, or in the source's data center): a failover whose
// source does not answer skips it like the source's own steps.
func (m *move) sourceSite(on string) bool {
	if !m.multi || stepHostName(on) == "" {
		return false
	}
	h := m.host(on)
	if h.Datacenter != "" && h.Datacenter == m.in.Source.Datacenter {
		return true
	}
	for _, set := range m.in.Copies {
		if s, _ := m.pair(set); s.Name == h.Name {
			return true
		}
	}
	return false
}

// unknownHosts lists the host names blocks and copy sets refer to that
// are neither the source, the target nor in Hosts: an input not made by
// launch.MoveInput. Such a move never starts rather than run a step on
// another host than the one named.
func (m *move) unknownHosts() []string {
	var bad []string
	known := func(name string) bool {
		_, ok := hostNamed(m.in.Subject, m.in.Hosts, name)
		return ok
	}
	for _, b := range append(slices.Clone(m.in.Cutover.Blocks), m.in.FailbackBlocks...) {
		if n := stepHostName(b.On); n != "" && !known(n) {
			bad = append(bad, fmt.Sprintf("%s %s on %s", b.Kind, b.Name, b.On))
		}
	}
	for _, set := range m.in.Copies {
		for _, n := range []string{set.SourceHost, set.TargetHost} {
			if n != "" && !known(n) {
				bad = append(bad, fmt.Sprintf("copy set %s host %s", set.Name, n))
			}
		}
	}
	return bad
}
