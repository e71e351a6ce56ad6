package plans

import "github.com/hashicorp/hcl/v2"

func (l *loader) decodeDatacenterBlock(b *hcl.Block) *Datacenter {
	dc := &Datacenter{Name: b.Labels[0], Range: b.DefRange}
	content, d := b.Body.Content(datacenterSchema)
	l.diags = append(l.diags, d...)
	dc.Description, _ = l.str(content.Attributes["description"], "description")
	if a := content.Attributes["worker_queue"]; a != nil {
		if q, ok := l.str(a, "worker_queue"); ok {
			if q == "" {
				l.errorf(a.Expr.Range(), "Empty worker_queue",
					"worker_queue names the task queue of the workers inside this data center; remove it to use the default queue.")
			}
			dc.WorkerQueue = q
		}
	}
	return dc
}
