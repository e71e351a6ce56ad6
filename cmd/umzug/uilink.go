package main

import (
	"fmt"
	"os"
)

// defaultUI is where links point when nothing else is known: the
// embedded UI on its default port.
const defaultUI = "http://127.0.0.1:8233"

// uiBase is where workflow links point: TEMPORAL_UI_URL, or the embedded
// UI's default address.
func uiBase() string {
	if u := os.Getenv("TEMPORAL_UI_URL"); u != "" {
		return u
	}
	return defaultUI
}

// uiExportHint tells how other shells' links reach a UI that is not where
// they look by default ("" when they already do).
func uiExportHint(ui string) string {
	if ui == "" || ui == uiBase() {
		return ""
	}
	return fmt.Sprintf("                 links printed by other shells point to %s; there: export TEMPORAL_UI_URL=%s\n", uiBase(), ui)
}
