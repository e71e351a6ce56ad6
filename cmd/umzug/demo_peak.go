package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/demo"
	"github.com/umzug-dev/umzug/internal/launch"
	"github.com/umzug-dev/umzug/workflows"
)

// peakStory plays mutual peak-load balancing on the two print centers:
// OWL-IT's first hand-over refused by AKDB (its jobs go home), a second
// accepted and produced at AKDB, then AKDB's peak handed to OWL-IT. Each
// center's staff is played by writing its production log.
func (d *failoverDemo) peakStory() error {
	akdbData := filepath.Join(d.env.Dir, "akdb/srv/akdb-print")
	if _, err := demo.GeneratePrintSpool(akdbData, 815, 1); err != nil {
		return err
	}
	d.printf("AKDB's own print production: %s\n", akdbData)

	// 1. OWL-IT's election peak: AKDB is full today and refuses.
	id, err := d.handOver("print", "spool/bielefeld/*", fdPresser)
	if err != nil {
		return err
	}
	if err := d.decideOffload(id, workflows.SignalRefuse, "j.bauer", "no capacity on shift A"); err != nil {
		return err
	}
	st, err := d.offloadEnds(id)
	if err != nil {
		return err
	}
	d.printf("refused: %s\n", st.Outcome)

	// 2. A second hand-over, accepted by AKDB's shift lead.
	id, err = d.handOver("print", "spool/guetersloh/*", fdPresser)
	if err != nil {
		return err
	}
	if err := d.decideOffload(id, workflows.SignalAccept, "m.huber", "shift B takes them"); err != nil {
		return err
	}
	if st, err = d.produce(id, filepath.Join(d.env.Dir, "akdb/srv/partner-queue")); err != nil {
		return err
	}
	d.printf("OWL-IT → AKDB: %s\n", st.Outcome)
	d.printRecord(st, filepath.Join(d.env.SourceData()))

	// 3. Next month AKDB has the peak (annual tax notices).
	id, err = d.handOver("print_akdb", "spool/minden/*", "m.huber")
	if err != nil {
		return err
	}
	if err := d.decideOffload(id, workflows.SignalAccept, fdConfirmer, "OWL-IT has room"); err != nil {
		return err
	}
	if st, err = d.produce(id, filepath.Join(d.env.Dir, "owl/srv/partner-queue")); err != nil {
		return err
	}
	d.printf("AKDB → OWL-IT: %s\n", st.Outcome)
	d.printRecord(st, akdbData)
	return nil
}

// handOver starts one offload of app's peak block.
func (d *failoverDemo) handOver(app, sel, who string) (string, error) {
	s, err := launch.StartOffload(d.ctx, d.c, d.plan, app, "peak", sel, launch.Options{StartedBy: who, Namespace: d.ns}, time.Now())
	if err != nil {
		return "", err
	}
	d.printf("%s hands %s over (%s): %s\n", who, sel, app, s.ID)
	d.printLink(s.ID)
	st, err := d.offloadPhase(s.ID, workflows.OffloadAwaiting, workflows.OffloadDone)
	if err != nil {
		return "", err
	}
	c := st.Counts()
	d.printf("  %d job(s) claimed out of the home queue and copied verified to %s; waiting for %s\n",
		c.Claimed, st.Target, strings.Join(d.acceptors(app), " or "))
	// The next hand-over gets its own second-stamped ID.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	return s.ID, nil
}

func (d *failoverDemo) acceptors(app string) []string {
	if a := d.plan.Application(app); a != nil && len(a.Offloads) > 0 {
		return a.Offloads[0].Accept.Approvers
	}
	return nil
}

func (d *failoverDemo) decideOffload(id, name, who, why string) error {
	h, err := d.c.UpdateWorkflow(d.ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: name,
		Args: []any{workflows.OffloadDecision{By: who, Comment: why}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(d.ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("%s of %s by %s: %w", name, id, who, err)
	}
	d.printf("  %s by %s: %q (Web UI: Send an Update %s {\"by\": %q})\n", name, who, why, name, who)
	return nil
}

// produce waits until the partner took the jobs in, plays its staff
// printing them, and waits for the archive.
func (d *failoverDemo) produce(id, partnerQueue string) (workflows.OffloadStatus, error) {
	if _, err := d.offloadPhase(id, workflows.OffloadProducing); err != nil {
		return workflows.OffloadStatus{}, err
	}
	taken, _ := os.ReadFile(filepath.Join(partnerQueue, "intake.log"))
	d.printf("  the partner took %d job(s) in (intake log %s); its staff print them\n",
		strings.Count(string(taken), "\n"), filepath.Join(partnerQueue, "intake.log"))
	if err := os.WriteFile(filepath.Join(partnerQueue, "produced.log"), taken, 0o644); err != nil {
		return workflows.OffloadStatus{}, err
	}
	return d.offloadEnds(id)
}

func (d *failoverDemo) offloadEnds(id string) (workflows.OffloadStatus, error) {
	return d.offloadPhase(id, workflows.OffloadDone, workflows.OffloadReleased, workflows.OffloadFailed, workflows.OffloadCancelled)
}

func (d *failoverDemo) offloadPhase(id string, phases ...string) (workflows.OffloadStatus, error) {
	for {
		var st workflows.OffloadStatus
		v, err := d.c.QueryWorkflow(d.ctx, id, "", workflows.QueryStatus)
		if err == nil && v.Get(&st) == nil {
			for _, p := range phases {
				if st.Phase == p {
					return st, nil
				}
			}
		}
		select {
		case <-d.ctx.Done():
			return st, d.ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// printRecord shows the archived evidence of one hand-over.
func (d *failoverDemo) printRecord(st workflows.OffloadStatus, queueRoot string) {
	path := filepath.Join(queueRoot, contract.OffloadArea, st.Key, "record.json")
	b, err := os.ReadFile(path)
	var rec workflows.OffloadRecord
	if err == nil {
		err = json.Unmarshal(b, &rec)
	}
	if err != nil {
		d.printf("  no record at %s: %v\n", path, err)
		return
	}
	d.printf("  archived with %s: %d job(s) produced at %s, accepted by %s\n", path, len(rec.Jobs), rec.ProducedAt, strings.Join(rec.AcceptedBy, ", "))
	for i, j := range rec.Jobs {
		if i == 3 {
			d.printf("    … and %d more\n", len(rec.Jobs)-3)
			break
		}
		d.printf("    %s sha256 %.16s… produced %s\n", j.ID, j.SHA256, j.Produced.UTC().Format(time.RFC3339))
	}
}
