//go:build record

package workflows

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/devserver"
)

// activityRegistrar is the part of a worker that registers activities.
type activityRegistrar interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// recorder drives workflows on an embedded server whose worker runs the
// fake activities, and writes their histories below testdata/.
type recorder struct {
	t   *testing.T
	c   client.Client
	ctx context.Context
}

// startRecorder starts the embedded server (with the given search
// attributes registered), a client and a worker on recordQueue; all stop
// when the test ends, and every call gives up after three minutes.
func startRecorder(t *testing.T, attrs map[string]enumspb.IndexedValueType, more ...func(activityRegistrar)) *recorder {
	t.Helper()
	srv, err := devserver.Start(devserver.Options{FrontendPort: 0, UIPort: 0, SearchAttributes: attrs})
	if err != nil {
		t.Fatalf("start embedded server: %v", err)
	}
	t.Cleanup(srv.Stop)
	c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Identity: "recorder"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := worker.New(c, recordQueue, worker.Options{})
	Register(w)
	w.RegisterActivityWithOptions(recPreflight, activity.RegisterOptions{Name: contract.NamePreflight})
	w.RegisterActivityWithOptions(recCopy, activity.RegisterOptions{Name: contract.NameCopyTree})
	w.RegisterActivityWithOptions(recEstimate, activity.RegisterOptions{Name: contract.NameEstimateDelta})
	w.RegisterActivityWithOptions(recCommand, activity.RegisterOptions{Name: contract.NameRunCommand})
	w.RegisterActivityWithOptions(func(context.Context, contract.CheckSecretsInput) error { return nil }, activity.RegisterOptions{Name: contract.NameCheckSecrets})
	for _, reg := range more {
		reg(w)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return &recorder{t: t, c: c, ctx: ctx}
}

func (r *recorder) start(id, wf string, in any) {
	r.t.Helper()
	if _, err := r.c.ExecuteWorkflow(r.ctx, client.StartWorkflowOptions{ID: id, TaskQueue: recordQueue}, wf, in); err != nil {
		r.t.Fatalf("start %s: %v", id, err)
	}
}

func (r *recorder) waitPhase(id, phase string) {
	r.t.Helper()
	for r.ctx.Err() == nil {
		if v, err := r.c.QueryWorkflow(r.ctx, id, "", QueryStatus); err == nil {
			var st Status
			if v.Get(&st) == nil && st.Phase == phase {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("%s never reached %s", id, phase)
}

func (r *recorder) update(id, name string, arg any) error {
	h, err := r.c.UpdateWorkflow(r.ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return err
	}
	var st Status
	return h.Get(r.ctx, &st)
}

func (r *recorder) ok(id, name string, arg any) {
	r.t.Helper()
	if err := r.update(id, name, arg); err != nil {
		r.t.Fatalf("%s %+v: %v", name, arg, err)
	}
}

func (r *recorder) refused(id, name string, arg any) {
	r.t.Helper()
	var app *temporal.ApplicationError
	if err := r.update(id, name, arg); !errors.As(err, &app) || app.Type() != contract.ErrRefused {
		r.t.Fatalf("%s %+v: %v, want a Refused outcome", name, arg, err)
	}
}

// finish waits for the workflow's result and writes its whole history to
// testdata/file.
func (r *recorder) finish(id, file string, result any) {
	r.t.Helper()
	if err := r.c.GetWorkflow(r.ctx, id, "").Get(r.ctx, result); err != nil {
		r.t.Fatalf("%s: %v", id, err)
	}
	h := &historypb.History{}
	it := r.c.GetWorkflowHistory(r.ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			r.t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		r.t.Fatal(err)
	}
	path := filepath.Join("testdata", file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.t.Logf("%s: %d events", file, len(h.Events))
}
