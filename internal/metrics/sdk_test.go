package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestSDKHandlerKeepsFirstLabelSet: the SDK may use one metric name with
// other tags later; the handler neither panics nor loses the samples.
func TestSDKHandlerKeepsFirstLabelSet(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := NewSDKHandler(reg).WithTags(map[string]string{"namespace": "default", "task-queue": "lemgo"})
	h.Counter("temporal_request").Inc(2)
	h.WithTags(map[string]string{"operation": "Poll"}).Counter("temporal_request").Inc(3)
	h.WithTags(nil).Counter("temporal_request").Inc(0)
	h.Timer("temporal_activity_execution_latency").Record(1500 * time.Millisecond)
	h.Gauge("temporal_worker_task_slots_available").Update(7)
	want := `
# HELP temporal_request Temporal SDK counter temporal_request
# TYPE temporal_request counter
temporal_request{namespace="default",task_queue="lemgo"} 5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "temporal_request"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "temporal_activity_execution_latency_seconds", "temporal_worker_task_slots_available"); n != 2 {
		t.Fatalf("timer and gauge series: %d, want 2", n)
	}
}
