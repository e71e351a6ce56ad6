package workflows

import "go.temporal.io/sdk/workflow"

// Register registers Move and Wave under their stable names. It takes
// anything with RegisterWorkflowWithOptions: worker.Worker,
// worker.WorkflowReplayer, the test environment.
func Register(r interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}) {
	r.RegisterWorkflowWithOptions(Move, workflow.RegisterOptions{Name: MoveWorkflow})
	r.RegisterWorkflowWithOptions(Wave, workflow.RegisterOptions{Name: WaveWorkflow})
	r.RegisterWorkflowWithOptions(Standby, workflow.RegisterOptions{Name: StandbyWorkflow})
	r.RegisterWorkflowWithOptions(StandbySyncRun, workflow.RegisterOptions{Name: StandbySyncWorkflow})
	r.RegisterWorkflowWithOptions(Offload, workflow.RegisterOptions{Name: OffloadWorkflow})
}
