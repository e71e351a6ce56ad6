package plans

import "github.com/hashicorp/hcl/v2"

// Schemas of every block, in the style of Terraform's internal/configs:
// hcl reports unknown and missing attributes and blocks against these,
// with a "did you mean" for near misses.

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "datacenter", LabelNames: []string{"name"}},
		{Type: "host", LabelNames: []string{"name"}},
		{Type: "application", LabelNames: []string{"name"}},
		{Type: "wave", LabelNames: []string{"name"}},
	},
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
		{Name: "sensitive"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true},
		{Name: "error_message", Required: true},
	},
}

var datacenterSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "worker_queue"},
	},
}

var hostSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "datacenter", Required: true},
		{Name: "address", Required: true},
		{Name: "user", Required: true},
		{Name: "identity_file"},
		{Name: "agent"},
		{Name: "known_hosts", Required: true},
		{Name: "jump"},
		{Name: "agent_path"},
		{Name: "become"},
	},
}

var applicationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "source", Required: true},
		{Name: "target", Required: true},
		{Name: "depends_on"},
		{Name: "soak"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "copy", LabelNames: []string{"name"}},
		{Type: "cutover"},
		{Type: "rehearsal"},
		{Type: "failback"},
		{Type: "standby"},
		{Type: "emergency"},
		{Type: "offload", LabelNames: []string{"name"}},
	},
}

var copySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from", Required: true},
		{Name: "to", Required: true},
		{Name: "exclude"},
		{Name: "include"},
		{Name: "verify"},
		{Name: "delete"},
		{Name: "bandwidth"},
		{Name: "concurrency"},
		{Name: "accept_refusals"},
		{Name: "rehash"},
		{Name: "owners"},
		{Name: "owner_map"},
		{Name: "selinux"},
		{Name: "source"},
		{Name: "target"},
	},
}

var cutoverSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "window"},
		{Type: "approval"},
		{Type: KindStep, LabelNames: []string{"name"}},
		{Type: KindFinalSync},
		{Type: KindCheck, LabelNames: []string{"name"}},
		{Type: KindParallel},
	},
}

// parallelSchema is a parallel block inside cutover: its blocks run at
// once. Groups do not nest.
var parallelSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: KindStep, LabelNames: []string{"name"}},
		{Type: KindFinalSync},
		{Type: KindCheck, LabelNames: []string{"name"}},
	},
}

var windowSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "not_before", Required: true},
		{Name: "duration", Required: true},
	},
}

var approvalSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "approvers", Required: true},
		{Name: "quorum"},
		{Name: "four_eyes"},
		{Name: "timeout"},
		{Name: "operators"},
		{Name: "require_run_digest"},
		{Name: "signers"},
	},
}

var stepSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "on", Required: true},
		{Name: "run", Required: true},
		{Name: "undo"},
		{Name: "timeout"},
		{Name: "rehearse"},
		{Name: "output"},
		{Name: "become"},
	},
}

var finalSyncSchema = &hcl.BodySchema{}

var checkSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "on", Required: true},
		{Name: "run", Required: true},
		{Name: "retries"},
		{Name: "interval"},
		{Name: "timeout"},
		{Name: "rehearse"},
		{Name: "output"},
		{Name: "become"},
	},
}

var waveSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "applications", Required: true},
		{Name: "max_parallel"},
	},
}

var standbySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "interval", Required: true},
		{Name: "max_lag"},
	},
}

var emergencySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "approvers", Required: true},
		{Name: "confirm_within", Required: true},
		{Name: "signers"},
	},
}
