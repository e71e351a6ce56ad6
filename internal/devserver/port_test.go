package devserver

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// TestStartRetriesATakenPort: another process takes the chosen frontend
// port between choice and bind; Start tries again with a fresh port and
// Address reports the one it bound.
func TestStartRetriesATakenPort(t *testing.T) {
	var taken []int
	var holders []net.Listener
	defer func() {
		for _, l := range holders {
			l.Close()
		}
	}()
	s, err := Start(Options{beforeBind: func(port int) {
		if len(taken) == 0 {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				t.Errorf("take port %d: %v", port, err)
				return
			}
			holders = append(holders, l)
		}
		taken = append(taken, port)
	}})
	if err != nil {
		t.Fatalf("start with the first chosen port taken: %v", err)
	}
	defer s.Stop()
	if len(taken) < 2 {
		t.Fatalf("the server started without a second choice: ports %v", taken)
	}
	_, p, _ := net.SplitHostPort(s.Address())
	if p == strconv.Itoa(taken[0]) || p != strconv.Itoa(taken[len(taken)-1]) {
		t.Fatalf("Address %s; chosen ports %v (the first was taken)", s.Address(), taken)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: s.Address(), Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"}); err != nil {
		t.Fatalf("server on %s does not answer: %v", s.Address(), err)
	}
}
