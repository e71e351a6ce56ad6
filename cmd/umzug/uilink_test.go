package main

import (
	"strings"
	"testing"
)

// TestUIExportHint: a UI on another port than the default makes dev and
// demo say how other shells' links reach it; links follow TEMPORAL_UI_URL.
func TestUIExportHint(t *testing.T) {
	t.Setenv("TEMPORAL_UI_URL", "")
	if h := uiExportHint("http://127.0.0.1:8233"); h != "" {
		t.Errorf("default port: hint %q", h)
	}
	h := uiExportHint("http://127.0.0.1:9233")
	if !strings.Contains(h, "export TEMPORAL_UI_URL=http://127.0.0.1:9233") {
		t.Errorf("UI on 9233: hint %q", h)
	}
	t.Setenv("TEMPORAL_UI_URL", "http://127.0.0.1:9233")
	if uiBase() != "http://127.0.0.1:9233" || uiExportHint("http://127.0.0.1:9233") != "" {
		t.Errorf("with TEMPORAL_UI_URL set: base %s, hint %q", uiBase(), uiExportHint("http://127.0.0.1:9233"))
	}
}
