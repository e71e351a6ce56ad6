//go:build record

package workflows

import (
	"context"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/devserver"
)

// TestRecordOffload records a hand-over on the embedded server: a
// four-eyes refusal of the starter's acceptance, the partner's
// acceptance, intake of three jobs, a done poll that finds none produced
// and one that finds all, the results copied back and the archive.
func TestRecordOffload(t *testing.T) {
	if os.Getenv("UMZUG_RECORD") != "1" {
		t.Skip("set UMZUG_RECORD=1 (and -tags record) to record histories on the embedded server")
	}
	srv, err := devserver.Start(devserver.Options{FrontendPort: 0, UIPort: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Identity: "recorder"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s := newSites("queue/a.pdf", "queue/b.pdf", "queue/c.pdf")
	s.produceAfter = 1
	w := worker.New(c, recordQueue, worker.Options{})
	Register(w)
	w.RegisterActivityWithOptions(s.jobs, activity.RegisterOptions{Name: contract.NameOffloadJobs})
	w.RegisterActivityWithOptions(s.copyTree, activity.RegisterOptions{Name: contract.NameCopyTree})
	w.RegisterActivityWithOptions(s.runCommand, activity.RegisterOptions{Name: contract.NameRunCommand})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := &recorder{t: t, c: c, ctx: ctx}
	id := OffloadID("record", "print", time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC))
	in := offloadInput()
	in.Poll = time.Second
	r.start(id, OffloadWorkflow, in)
	for ctx.Err() == nil {
		v, err := c.QueryWorkflow(ctx, id, "", QueryStatus)
		var st OffloadStatus
		if err == nil && v.Get(&st) == nil && st.Phase == OffloadAwaiting {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.refused(id, SignalAccept, OffloadDecision{By: "k.meier"})
	r.ok(id, SignalAccept, OffloadDecision{By: "m.huber", Comment: "CHG-77"})
	var st OffloadStatus
	r.finish(id, "offload/offload.json", &st)
	if st.Phase != OffloadDone || st.Counts().Produced != 3 {
		t.Fatalf("offload: %+v", st)
	}
}
