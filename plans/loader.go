package plans

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/umzug-dev/umzug/internal/redact"
)

// loader holds the state of one Load: declarations found so far, the
// evaluation context and the diagnostics, which accumulate rather than
// stop the load, so one run reports every problem.
type loader struct {
	opts   LoadOptions
	parser *hclparse.Parser
	diags  hcl.Diagnostics

	varDecls map[string]*varDecl
	vars     map[string]cty.Value
	locals   map[string]cty.Value
	// localDecls are all declared locals, evaluated or not.
	localDecls map[string]*hcl.Attribute
	ctx        *hcl.EvalContext
	// budget meters evaluation; funcs are the functions charging it.
	budget *budget
	funcs  map[string]function.Function
	// sensitive holds the rendered values of sensitive variables, so
	// messages can be redacted.
	sensitive []string
	// localOrder is the order locals were evaluated in (dependencies
	// first); alt is the context of the second evaluation of commands
	// that use sensitive variables, built on first use.
	localOrder []string
	alt        *hcl.EvalContext

	// names are the identities listed anywhere in the plan, by UTS #39
	// skeleton, to refuse look-alikes (decode_cutover.go).
	names map[string]listedName
	// offloads keep what checkOffloads resolves.
	offloads map[*Offload]offloadDecl

	datacenters map[string]*Datacenter
	hosts       map[string]*hostDecl
	apps        map[string]*appDecl
	hostOrder   []*hostDecl
	appOrder    []*appDecl
	waves       []*waveDecl
	// onRefs and copyRefs are the host references of steps, undos, checks
	// and copy sets, resolved with the others (multihost.go).
	onRefs   []onRef
	copyRefs []copyRef
}

func newLoader(opts LoadOptions) *loader {
	b := newBudget()
	return &loader{
		budget:      b,
		funcs:       limitedFunctions(b),
		opts:        opts,
		parser:      hclparse.NewParser(),
		varDecls:    map[string]*varDecl{},
		vars:        map[string]cty.Value{},
		locals:      map[string]cty.Value{},
		localDecls:  map[string]*hcl.Attribute{},
		datacenters: map[string]*Datacenter{},
		hosts:       map[string]*hostDecl{},
		apps:        map[string]*appDecl{},
	}
}

// rootBlocks are the top-level blocks of all files, by type, in file order.
type rootBlocks map[string][]*hcl.Block

// decode fills plan from the parsed files.
func (l *loader) decode(plan *Plan, files []*hcl.File) {
	blocks := rootBlocks{}
	for _, f := range files {
		content, d := f.Body.Content(rootSchema)
		l.diags = append(l.diags, d...)
		for _, b := range content.Blocks {
			if len(b.Labels) == 1 && !hclsyntax.ValidIdentifier(b.Labels[0]) {
				l.errorf(b.LabelRanges[0], "Invalid %s name", b.Type,
					"%q is not a valid name: use letters, digits, underscores and dashes, starting with a letter, because it is referenced as %s.%s and used in workflow IDs.",
					b.Labels[0], refRoot(b.Type), b.Labels[0])
				continue
			}
			blocks[b.Type] = append(blocks[b.Type], b)
		}
	}

	plan.Variables = l.decodeVariables(blocks["variable"])
	l.decodeLocals(blocks["locals"])
	l.buildContext()

	seen := map[string]map[string]hcl.Range{}
	unique := func(b *hcl.Block) bool {
		if seen[b.Type] == nil {
			seen[b.Type] = map[string]hcl.Range{}
		}
		name := b.Labels[0]
		if prev, dup := seen[b.Type][name]; dup {
			l.errorf(b.LabelRanges[0], fmt.Sprintf("Duplicate %s %q", b.Type, name),
				"%s named %q is already defined at %s. Names must be unique; rename one of them.",
				article(b.Type), name, shortRange(prev))
			return false
		}
		seen[b.Type][name] = b.DefRange
		return true
	}
	for _, b := range blocks["datacenter"] {
		if unique(b) {
			dc := l.decodeDatacenterBlock(b)
			l.datacenters[dc.Name] = dc
			plan.Datacenters = append(plan.Datacenters, dc)
		}
	}
	for _, b := range blocks["host"] {
		if unique(b) {
			hd := l.decodeHostBlock(b)
			l.hosts[hd.h.Name] = hd
			l.hostOrder = append(l.hostOrder, hd)
			plan.Hosts = append(plan.Hosts, hd.h)
		}
	}
	for _, b := range blocks["application"] {
		if unique(b) {
			ad := l.decodeApplicationBlock(b)
			l.apps[ad.a.Name] = ad
			l.appOrder = append(l.appOrder, ad)
			plan.Applications = append(plan.Applications, ad.a)
		}
	}
	for _, b := range blocks["wave"] {
		if unique(b) {
			wd := l.decodeWaveBlock(b)
			l.waves = append(l.waves, wd)
			plan.Waves = append(plan.Waves, wd.w)
		}
	}

	l.resolveReferences()
	l.validatePlan(plan)
}

// refRoot is the traversal root a block type is referenced by.
func refRoot(blockType string) string {
	if blockType == "variable" {
		return "var"
	}
	return blockType
}

func (l *loader) errorf(rng hcl.Range, summary, detail string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   l.redact(fmt.Sprintf(detail, args...)),
		Subject:  rng.Ptr(),
	})
}

func (l *loader) warnf(rng hcl.Range, summary, detail string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  summary,
		Detail:   l.redact(fmt.Sprintf(detail, args...)),
		Subject:  rng.Ptr(),
	})
}

// redact replaces sensitive variable values in a message.
func (l *loader) redact(s string) string {
	return redactValues(s, l.sensitive)
}

// minSecret is the shortest value redacted: replacing every "t" or "ab"
// would garble messages while hiding nothing worth hiding.
const minSecret = 4

// redactValues replaces the values, and the forms messages quote them in
// (Go and JSON quoting, shell quoting, hex, base64: see internal/redact).
func redactValues(s string, secrets []string) string {
	var long []string
	for _, v := range secrets {
		if len(v) >= minSecret {
			long = append(long, v)
		}
	}
	if len(long) == 0 {
		return s
	}
	if r := redactorFor(long); r != nil {
		return r.String(s)
	}
	for _, v := range long {
		s = strings.ReplaceAll(s, v, redact.Marker)
	}
	return s
}

// lastRedactor keeps the matcher of the last set of values: one plan's
// messages are redacted many times with the same values.
var lastRedactor struct {
	sync.Mutex
	key string
	r   *redact.Redactor
}

func redactorFor(values []string) *redact.Redactor {
	key := strings.Join(values, "\x00")
	lastRedactor.Lock()
	defer lastRedactor.Unlock()
	if lastRedactor.r == nil || lastRedactor.key != key {
		r, err := redact.New(values...)
		if err != nil {
			return nil
		}
		lastRedactor.key, lastRedactor.r = key, r
	}
	return lastRedactor.r
}

// finish orders the diagnostics by position and removes what could leak
// sensitive values.
func (l *loader) finish() hcl.Diagnostics {
	diags := l.diags
	for _, d := range diags {
		if len(l.sensitive) > 0 {
			// The text writer prints the values of an expression's
			// variables; with sensitive variables around, it must not.
			d.Expression, d.EvalContext = nil, nil
			d.Detail = l.redact(d.Detail)
			d.Summary = l.redact(d.Summary)
		}
	}
	sortDiagnostics(diags)
	return diags
}

// sortDiagnostics orders diagnostics without a position first, then by
// file and offset, keeping the order found for equal positions.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
}

// shortRange is "file:line" for messages that point at another place.
func shortRange(r hcl.Range) string {
	return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line)
}

// Redact replaces the values of the plan's sensitive variables in s; use
// it for anything shown to people (plan output, logs).
func (p *Plan) Redact(s string) string {
	var secrets []string
	for _, v := range p.Variables {
		if v.Sensitive {
			secrets = append(secrets, v.Value)
		}
	}
	return redactValues(s, secrets)
}

// article is "a host", "an application".
func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "An " + noun
	}
	return "A " + noun
}
