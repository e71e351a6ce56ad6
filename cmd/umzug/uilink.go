package main

import (
	"context"
	"fmt"
	"os"
	"time"

	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// defaultUI is where links point when nothing else is known: the
// embedded UI on its default port.
const defaultUI = "http://127.0.0.1:8233"

// uiDataKey is the namespace data entry naming the Web UI's address.
// `umzug dev` and `umzug demo` set it to the UI they started, so every
// shell's links reach that UI, whatever port it took; on a cluster an
// operator may set it (temporal operator namespace update --data).
const uiDataKey = "umzug.web_ui_url"

// uiBase is where workflow links point: TEMPORAL_UI_URL, or the embedded
// UI's default address.
func uiBase() string {
	if u := os.Getenv("TEMPORAL_UI_URL"); u != "" {
		return u
	}
	return defaultUI
}

// uiBaseFrom is uiBase, but asks the server for the UI address recorded
// in the namespace before falling back to the default.
func uiBaseFrom(ctx context.Context, c client.Client, namespace string) string {
	if u := os.Getenv("TEMPORAL_UI_URL"); u != "" {
		return u
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err == nil {
		if u := d.GetNamespaceInfo().GetData()[uiDataKey]; u != "" {
			return u
		}
	}
	return defaultUI
}

// announceUI records ui ("" when no UI runs) in the namespace for
// uiBaseFrom.
func announceUI(ctx context.Context, c client.Client, namespace, ui string) error {
	_, err := c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace:  namespace,
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{Data: map[string]string{uiDataKey: ui}},
	})
	if err != nil {
		return fmt.Errorf("record the Web UI address in namespace %s: %w", namespace, err)
	}
	return nil
}

// uiExportHint tells how other shells' links reach a UI that is not where
// they look by default ("" when they already do).
func uiExportHint(ui string) string {
	if ui == "" || ui == uiBase() {
		return ""
	}
	return fmt.Sprintf("                 links printed by `umzug run` find this UI through the server; elsewhere: export TEMPORAL_UI_URL=%s\n", ui)
}
