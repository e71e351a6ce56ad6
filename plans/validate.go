package plans

import (
	"strings"
	"time"

	"github.com/umzug-dev/umzug/internal/units"
)

// validatePlan runs the checks that need the whole plan resolved.
func (l *loader) validatePlan(plan *Plan) {
	l.checkJumpCycles()
	for _, ad := range l.appOrder {
		l.checkApplication(ad)
	}
	l.checkDependsOnCycles()
	l.checkDependencySoaks()
	l.checkWaves()
	l.checkOverlappingTargets()
	l.checkOffloads(plan)
}

func (l *loader) checkApplication(ad *appDecl) {
	a := ad.a
	l.checkRehearsal(ad)
	l.checkFailback(a)
	l.checkStandby(a)
	l.checkCopyHosts(a)
	if a.Source != nil && a.Target != nil {
		if a.Source == a.Target {
			l.errorf(ad.tgt.rng, "Source equals target",
				"Application %q moves from host.%s to host.%s: source and target must be different hosts.",
				a.Name, a.Source.Name, a.Target.Name)
		} else if a.Source.Address != "" && a.Source.Address == a.Target.Address {
			l.warnf(ad.tgt.rng, "Source and target share an address",
				"host.%s and host.%s both have address %s; the move would copy a machine onto itself.",
				a.Source.Name, a.Target.Name, a.Source.Address)
		}
	}
	if a.Cutover == nil {
		if len(a.Copies) > 0 {
			l.warnf(a.Range, "No cutover",
				"Application %q has copy sets but no cutover block: the move seeds the target and ends, with no approval, no final_sync and no switch. Allowed for rehearsals; production moves need a cutover with an approval.",
				a.Name)
		}
		return
	}
	hasSync := false
	for _, b := range a.Cutover.Blocks {
		h := a.BlockHost(b)
		if h != nil && b.NoBecome && h.Become == "" {
			l.warnf(b.Range, "become = false without become",
				"%s %q sets become = false, but host.%s has no become: it runs as the login user anyway.", b.Kind, b.Name, h.Name)
		}
		if b.Kind == KindFinalSync {
			hasSync = true
			if len(a.Copies) == 0 {
				l.warnf(b.Range, "final_sync without copy sets",
					"Application %q has no copy blocks, so final_sync has nothing to copy.", a.Name)
			}
		}
	}
	if !hasSync && len(a.Copies) > 0 {
		l.errorf(a.Cutover.Range, "Missing final_sync",
			"Application %q has %d copy set(s) but its cutover has no final_sync {}, so changes made after the seed would be lost. Add final_sync {} after the steps that stop the application.",
			a.Name, len(a.Copies))
	}
}

// checkDependsOnCycles finds each depends_on cycle once and names it.
func (l *loader) checkDependsOnCycles() {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[*appDecl]int{}
	var stack []*appDecl
	var visit func(ad *appDecl)
	visit = func(ad *appDecl) {
		state[ad] = visiting
		stack = append(stack, ad)
		for i, dep := range ad.a.DependsOn {
			next := l.apps[dep.Name]
			switch state[next] {
			case visiting:
				j := len(stack) - 1
				for stack[j] != next {
					j--
				}
				var names []string
				for _, s := range stack[j:] {
					names = append(names, s.a.Name)
				}
				names = append(names, next.a.Name)
				l.errorf(ad.depRefs[i].rng, "Dependency cycle",
					"depends_on cycle: %s. Applications in a cycle can never start; remove one of these dependencies.",
					prefixJoin("application.", names))
			case unvisited:
				visit(next)
			}
		}
		stack = stack[:len(stack)-1]
		state[ad] = done
	}
	for _, ad := range l.appOrder {
		if state[ad] == unvisited {
			visit(ad)
		}
	}
}

// checkJumpCycles reports jump hosts that lead back to themselves.
func (l *loader) checkJumpCycles() {
	reported := map[*Host]bool{}
	for _, hd := range l.hostOrder {
		seen := map[*Host]bool{}
		path := []string{hd.h.Name}
		for h := hd.h.Jump; h != nil; h = h.Jump {
			path = append(path, h.Name)
			if h == hd.h {
				if !reported[hd.h] {
					for _, n := range path {
						reported[l.hosts[n].h] = true
					}
					l.errorf(hd.jump.rng, "Jump cycle",
						"jump cycle: %s. A bastion cannot be reached through itself.", prefixJoin("host.", path))
				}
				break
			}
			if seen[h] {
				break // a cycle further on, reported for its own hosts
			}
			seen[h] = true
		}
	}
}

func (l *loader) checkWaves() {
	inWave := map[string]string{}
	for _, wd := range l.waves {
		members := map[string]bool{}
		for _, a := range wd.w.Applications {
			members[a.Name] = true
		}
		for i, a := range wd.w.Applications {
			r := wd.resolved[i]
			if prev, ok := inWave[a.Name]; ok && prev != wd.w.Name {
				l.errorf(r.rng, "Application in two waves",
					"%s is already in wave %q; a move runs once, so each application belongs to at most one wave.", r, prev)
				continue
			}
			inWave[a.Name] = wd.w.Name
			var outside []string
			for _, d := range a.DependsOn {
				if !members[d.Name] {
					outside = append(outside, "application."+d.Name)
				}
			}
			if len(outside) > 0 {
				l.warnf(r.rng, "Dependency outside the wave",
					"%s depends on %s, which %s not in wave %q; the wave does not wait for %s. Start %s first or add %s to the wave.",
					r, strings.Join(outside, ", "), isAre(len(outside)), wd.w.Name, itThem(len(outside)), itThem(len(outside)), itThem(len(outside)))
			}
		}
	}
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// checkDependencySoaks warns where a dependency's soak keeps a dependant
// out of its window: an application starts only once its depends_on
// applications committed, and a move commits when its soak ends (or at
// `umzug commit`). The earliest commit is taken as the dependency's
// window start plus its soak; a dependency without a window is skipped.
func (l *loader) checkDependencySoaks() {
	for _, ad := range l.appOrder {
		w := window(ad.a)
		if w == nil {
			continue
		}
		closes := w.NotBefore.Add(w.Duration)
		for i, dep := range ad.a.DependsOn {
			dw := window(dep)
			if dw == nil || dep.Soak <= 0 || i >= len(ad.depRefs) {
				continue
			}
			commits := dw.NotBefore.Add(dep.Soak)
			if commits.Before(closes) {
				continue
			}
			l.warnf(ad.depRefs[i].rng, "Dependency soaks past this window",
				"Application %q starts only after %q committed. %q soaks %s after its cutover, which starts at %s at the earliest, so it commits at %s at the earliest, after the window of %q closes at %s. Shorten the soak of %q, move one of the windows, or plan to end that soak early with `umzug commit`.",
				ad.a.Name, dep.Name, dep.Name, units.Duration(dep.Soak), stampTime(dw.NotBefore), stampTime(commits), ad.a.Name, stampTime(closes), dep.Name)
		}
	}
}

// window is a's cutover window with a start, or nil.
func window(a *Application) *Window {
	if a.Cutover == nil || a.Cutover.Window == nil || a.Cutover.Window.NotBefore.IsZero() {
		return nil
	}
	return a.Cutover.Window
}

func stampTime(t time.Time) string { return t.Format(time.RFC3339) }
