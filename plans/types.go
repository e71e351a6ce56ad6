package plans

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Plan is a loaded, validated plan. Every reference is resolved: hosts,
// datacenters and applications are pointers, not names.
type Plan struct {
	// Name is the plan's name in workflow IDs: the file name without
	// extension, or the directory name for a directory of files.
	Name string
	// SHA256 is the hex digest over the plan's files (sorted by name, each
	// as name NUL content NUL); approvals are bound to it.
	SHA256 string
	// Files are the parsed sources, for diagnostics snippets.
	Files map[string]*hcl.File

	Variables    []*Variable
	Datacenters  []*Datacenter
	Hosts        []*Host
	Applications []*Application // in the order written
	Waves        []*Wave
}

// Variable is a declared variable with its final value, already rendered
// as a string for display. A Sensitive one is never printed and never
// reaches a workflow: Value is what was given here (empty if nothing
// was), kept for validation and the run digest; commands refer to it by
// SecretRef and the workers read it from SecretEnv.
type Variable struct {
	Name        string
	Description string
	Sensitive   bool
	Value       string
	Range       hcl.Range
}

type Datacenter struct {
	Name        string
	Description string
	WorkerQueue string
	Range       hcl.Range
}

type Host struct {
	Name         string
	Datacenter   *Datacenter
	Address      string // host:port, port defaulted to 22
	User         string
	IdentityFile string // "~" expanded by the activity, not here
	Agent        bool
	KnownHosts   string
	Jump         *Host
	// AgentPath is an umzug-agent installed on the host by its
	// administrators (homes mounted noexec); "" lets the worker upload one.
	AgentPath string
	// Become is "sudo" when the login user runs steps, undos, checks and
	// the agent as root through `sudo -n`; "" runs them as the login user.
	Become string
	Range  hcl.Range
}

type Application struct {
	Name        string
	Description string
	Source      *Host
	Target      *Host
	DependsOn   []*Application
	Copies      []*Copy
	Cutover     *Cutover // nil when the plan has none
	Soak        time.Duration
	Range       hcl.Range
	// Rehearsal is the rehearsal block; nil when the plan has none.
	Rehearsal *Rehearsal
	// Failback is the failback block; nil when the plan has none.
	Failback *Failback
	// Standby is the standby block; nil when the plan has none.
	Standby *Standby
	// Emergency is the failover rule; nil when the plan has none.
	Emergency *Emergency
	// Offloads hand jobs to the target for production (decode_offload.go).
	Offloads []*Offload
}

type Copy struct {
	Name        string
	From        string
	To          string
	Exclude     []string
	Include     []string
	Verify      string // "sha256" (default) or "size_mtime"
	Delete      bool
	Bandwidth   int64 // bytes per second, 0 = unlimited
	Concurrency int   // 0 = default
	// AcceptRefusals lists the refusal kinds (contract.RefusalKinds) the move
	// accepts: such entries are left out and listed instead of failing it.
	AcceptRefusals []string
	// Rehash is "" or "after_switch": hash every file again on both hosts
	// during soak, off the window; a mismatch rolls back.
	Rehash string
	// Owners is "" (by name), "name" or "numeric"; OwnerMap maps a source
	// uid, gid or name to a target name or number; SELinux is "" (relabel),
	// "keep" or "relabel" (decode_owners.go).
	Owners   string
	OwnerMap map[string]string
	SELinux  string
	// Source and Target are the copy set's own hosts (`source` and
	// `target` in the copy block); nil means the application's.
	Source  *Host
	Target  *Host
	Range   hcl.Range
	toRange hcl.Range // the `to` expression, for the overlap check
}

type Cutover struct {
	Window   *Window
	Approval *Approval // nil: no approval needed (rehearsal; warned)
	Blocks   []*Block  // in the order written
	Range    hcl.Range
}

type Window struct {
	NotBefore time.Time
	Duration  time.Duration
}

type Approval struct {
	Approvers []string
	Quorum    int
	FourEyes  bool
	Timeout   time.Duration
	// Operators may commit and roll back during soak; empty means the
	// approvers may.
	Operators []string
	// RequireRunDigest refuses approvals not bound to the run digest.
	RequireRunDigest bool
	// Signers, when set, is the allowed_signers file whose keys must sign
	// every approval, rejection, commit and rollback.
	Signers *Signers
}

// Block kinds.
const (
	KindStep      = "step"
	KindFinalSync = contract.PhaseFinalSync // the copy phase a final_sync block runs
	KindCheck     = "check"
	// KindParallel is the cutover block whose steps, checks and
	// final_sync run at once; its members carry its Group number.
	KindParallel = "parallel"
)

type Block struct {
	Kind string
	Name string
	// On is "source", "target" or a host reference "host.NAME"; OnHost
	// is the host a reference names (nil for "source" and "target").
	On     string
	OnHost *Host
	// Group is the 1-based number of the parallel block the block is in
	// within its cutover; 0 outside any. Blocks of one group are adjacent
	// and run at once.
	Group int
	Run   string
	Undo  string
	// Secrets names the sensitive variables Run and Undo refer to as
	// SecretRef(name); the worker supplies their values.
	Secrets  []string
	Timeout  time.Duration
	Retries  int
	Interval time.Duration
	Range    hcl.Range
	// Rehearse says the block runs in a rehearsal: `rehearse`, default
	// false for steps and true for checks.
	Rehearse bool
	// KeepOutput (output = "keep") keeps the output of its commands that
	// use Secrets, redacted; without it the workers keep only byte counts.
	KeepOutput bool
	// NoBecome (become = false) runs Run and Undo as the login user on a
	// host with become = "sudo".
	NoBecome bool
}

type Wave struct {
	Name         string
	Applications []*Application
	MaxParallel  int
	Range        hcl.Range
}

// LoadOptions are the variable sources besides defaults.
type LoadOptions struct {
	// Vars are --var name=value pairs, highest precedence.
	Vars map[string]string
	// VarFiles are --var-file paths (HCL attribute files).
	VarFiles []string
	// Environ is the environment to read UMZUG_VAR_name from (os.Environ()
	// in the CLI; tests pass their own). The loader reads nothing else.
	Environ []string
	// Now, when set, is the time against which cutover windows are
	// checked: a window that ended before it draws a warning. The loader
	// reads no clock; the CLI passes the time it runs at.
	Now time.Time
}

// Application returns the application with the given name, or nil.
func (p *Plan) Application(name string) *Application {
	for _, a := range p.Applications {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Rehearsal and failback.

// Rehearsal is an application's rehearsal block: a run of the whole move
// against a scratch root, which then vouches for the real move.
type Rehearsal struct {
	// Target is the scratch host; nil means the application's target.
	Target *Host
	// Root is the scratch root: every copy's `to` is re-rooted under it.
	Root string
	// RequiredWithin refuses approvals of the real move without a
	// successful rehearsal this recent; 0 requires none.
	RequiredWithin time.Duration
	Range          hcl.Range
}

// Failback is an application's failback block: how a committed move (or
// a failover) is reversed. Exactly one of FromUndo and Blocks is set.
type Failback struct {
	// FromUndo derives the reverse steps from the cutover: each step's
	// undo, in reverse order, around the final_sync.
	FromUndo bool
	// Blocks are declared reverse steps; On names the original hosts
	// ("source" is still the application's source).
	Blocks []*Block
	Range  hcl.Range
}

// Standby and emergency: keeping a partner site warm and failing over to it.

// Standby keeps the application's target (the partner site) a verified
// copy of its source: a Temporal Schedule runs a delta copy of every copy
// set each Interval.
type Standby struct {
	Interval time.Duration
	// MaxLag is how old the last verified sync may be before status flags
	// the standby as behind; default 3 × Interval.
	MaxLag time.Duration
	Range  hcl.Range
}

// Emergency is the approval rule of a failover: one listed approver
// presses the button, a second, different one confirms within
// ConfirmWithin. The failover does not wait for the confirmation; a
// missing one is reported as overdue.
type Emergency struct {
	Approvers     []string
	ConfirmWithin time.Duration
	// Signers, when set, must sign every failover and confirmation.
	Signers *Signers
	Range   hcl.Range
}
