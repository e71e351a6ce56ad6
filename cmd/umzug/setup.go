package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newSetupCmd) }

// umzugSearchAttributes are the keyword attributes moves and waves set.
var umzugSearchAttributes = []string{workflows.SearchAttrPlan, workflows.SearchAttrApplication, workflows.SearchAttrPhase}

// minServer is the oldest server with Updates on by default and user
// metadata (the current details umzug shows in the Web UI).
const minServer = "1.25.0"

func newSetupCmd() *cobra.Command {
	var retention time.Duration
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Prepare an existing Temporal cluster for umzug (namespace, search attributes)",
		Long: `setup prepares the cluster at TEMPORAL_ADDRESS for umzug: it registers
the namespace TEMPORAL_NAMESPACE if it is missing (with --retention, the time
closed moves stay in history), registers the search attributes UmzugPlan,
UmzugApplication and UmzugPhase through the operator API, and checks that
the server supports what umzug uses (Updates, current details).

It changes nothing that is already in place; run it again at any time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dialFromEnv(cmd.Context(), currentUser()+"@umzug-setup")
			if err != nil {
				return err
			}
			defer c.Close()
			return setupCluster(cmd.Context(), c, temporalNamespace(), retention, cmd.OutOrStdout())
		},
	}
	cmd.Flags().DurationVar(&retention, "retention", 30*24*time.Hour, "how long closed workflows stay, for a namespace setup registers")
	return cmd
}

// setupCluster is the whole of `umzug setup`; each step prints what it found
// or changed.
func setupCluster(ctx context.Context, c client.Client, ns string, retention time.Duration, out io.Writer) error {
	if err := checkServer(ctx, c, out); err != nil {
		return err
	}
	if err := ensureNamespace(ctx, c, ns, retention, out); err != nil {
		return err
	}
	return ensureSearchAttributes(ctx, c, ns, out)
}

// checkServer refuses servers without Updates or user metadata.
func checkServer(ctx context.Context, c client.Client, out io.Writer) error {
	info, err := c.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
	if err != nil {
		return fmt.Errorf("ask the server for its version and capabilities: %w", err)
	}
	v := info.GetServerVersion()
	if !info.GetCapabilities().GetSdkMetadata() {
		return fmt.Errorf("Temporal server %s lacks user metadata (current details); umzug needs server %s or newer", v, minServer)
	}
	if versionLess(v, minServer) {
		return fmt.Errorf("Temporal server %s is older than %s: Updates (approve, commit) are not on by default; upgrade the server", v, minServer)
	}
	fmt.Fprintf(out, "server %s: Updates and current details supported\n", v)
	return nil
}

// versionLess compares dotted release numbers; an unparsable version
// (a development build) is taken as new enough.
func versionLess(v, min string) bool {
	var a, b [3]int
	if n, _ := fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d.%d", &a[0], &a[1], &a[2]); n < 2 {
		return false
	}
	fmt.Sscanf(min, "%d.%d.%d", &b[0], &b[1], &b[2])
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

func ensureNamespace(ctx context.Context, c client.Client, ns string, retention time.Duration, out io.Writer) error {
	d, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err == nil {
		fmt.Fprintf(out, "namespace %s: exists, retention %s (unchanged)\n", ns, d.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration())
		return nil
	}
	var nf *serviceerror.NamespaceNotFound
	if !errors.As(err, &nf) {
		return fmt.Errorf("describe namespace %s: %w", ns, err)
	}
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        ns,
		Description:                      "umzug migrations",
		WorkflowExecutionRetentionPeriod: durationpb.New(retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w", ns, err)
	}
	fmt.Fprintf(out, "namespace %s: registered, retention %s\n", ns, retention)
	return nil
}

// ensureSearchAttributes adds the missing ones.
func ensureSearchAttributes(ctx context.Context, c client.Client, ns string, out io.Writer) error {
	var missing []string
	err := whileNamespaceUnknown(ctx, func() (err error) {
		missing, err = missingSearchAttributes(ctx, c, ns)
		return err
	})
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		fmt.Fprintf(out, "search attributes %s: registered (unchanged)\n", strings.Join(umzugSearchAttributes, ", "))
		return nil
	}
	add := map[string]enumspb.IndexedValueType{}
	for _, n := range missing {
		add[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	err = whileNamespaceUnknown(ctx, func() error {
		_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: ns, SearchAttributes: add})
		return err
	})
	if err != nil {
		return fmt.Errorf("register search attributes %s on namespace %s: %w", strings.Join(missing, ", "), ns, err)
	}
	fmt.Fprintf(out, "search attributes %s: registered (keyword)\n", strings.Join(missing, ", "))
	return nil
}

// whileNamespaceUnknown retries f for up to a minute while it fails with
// "not found": a namespace registered a moment ago reaches the services
// only when their namespace cache refreshes (every 10 s by default).
func whileNamespaceUnknown(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := f()
		var nf *serviceerror.NamespaceNotFound
		var nf2 *serviceerror.NotFound
		if err == nil || !(errors.As(err, &nf) || errors.As(err, &nf2)) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func missingSearchAttributes(ctx context.Context, c client.Client, ns string) ([]string, error) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return nil, fmt.Errorf("list search attributes of namespace %s: %w", ns, err)
	}
	var missing []string
	for _, n := range umzugSearchAttributes {
		t, ok := resp.GetCustomAttributes()[n]
		if !ok {
			missing = append(missing, n)
			continue
		}
		if t != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			return nil, fmt.Errorf("search attribute %s on namespace %s is %s, umzug needs Keyword; remove it or use another namespace", n, ns, t)
		}
	}
	return missing, nil
}

// checkSetup is what `umzug run` and `umzug worker` ask before they start:
// a missing namespace stops them, missing search attributes are noted.
// Both point to `umzug setup`.
func checkSetup(ctx context.Context, c client.Client, w io.Writer) error {
	ns := temporalNamespace()
	_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	var nf *serviceerror.NamespaceNotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("namespace %s does not exist on the cluster at %s; run `umzug setup` to register it", ns, temporalAddress())
	}
	if err != nil {
		return fmt.Errorf("describe namespace %s at %s: %w", ns, temporalAddress(), err)
	}
	missing, err := missingSearchAttributes(ctx, c, ns)
	if err == nil && len(missing) > 0 {
		fmt.Fprintf(w, "note: search attributes %s are not registered on namespace %s (moves cannot be filtered by them); run `umzug setup`\n",
			strings.Join(missing, ", "), ns)
	}
	return nil
}

// dialAs dials for a command that starts workflows as *as (default
// $USER, written back so the caller reports who started them), with the
// setup check of dialChecked. Cobra's context is the dial's.
func dialAs(cmd *cobra.Command, as *string) (client.Client, error) {
	if *as == "" {
		*as = currentUser()
	}
	return dialChecked(cmd.Context(), *as+"@umzug-cli", cmd.ErrOrStderr())
}

// dialChecked is dialFromEnv followed by checkSetup.
func dialChecked(ctx context.Context, identity string, w io.Writer) (client.Client, error) {
	c, err := dialFromEnv(ctx, identity)
	if err != nil {
		return nil, err
	}
	if err := checkSetup(ctx, c, w); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
