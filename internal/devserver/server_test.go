package devserver

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

func startOn(t *testing.T, db string) *Server {
	t.Helper()
	// Port 0: the server chooses its ports itself and reports the frontend's
	// in Address, so no other process can take it between choice and bind.
	s, err := Start(Options{FrontendPort: 0, DBFile: db, SearchAttributes: map[string]enumspb.IndexedValueType{
		"UmzugPhase": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestNamespaceAndSearchAttributes checks that the embedded server answers,
// has the default namespace and the registered search attribute, in memory
// and on a SQLite file that is reopened (as `umzug dev --db` does).
func TestNamespaceAndSearchAttributes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	for _, name := range []string{"memory", "file", "file reopened"} {
		t.Run(name, func(t *testing.T) {
			file := db
			if name == "memory" {
				file = ""
			}
			s := startOn(t, file)
			defer s.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := client.DialContext(ctx, client.Options{HostPort: s.Address(), Namespace: "default"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"}); err != nil {
				t.Fatalf("describe namespace default: %v", err)
			}
			resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := resp.GetCustomAttributes()["UmzugPhase"]; !ok {
				t.Fatalf("search attribute UmzugPhase missing: %v", resp.GetCustomAttributes())
			}
		})
	}
}
