package audit

import (
	"regexp"
	"strings"
)

// Temporal wraps an activity's or child workflow's error in a prefix per
// layer ("activity error (type: RunCommand, scheduledEventID: 12,
// startedEventID: 13, identity: …): ") and an application error in a
// suffix (" (type: CommandFailed, retryable: false)"). They say nothing
// to an auditor; the workflow's own context before them and the innermost
// message after them do.
var (
	temporalWrapper = regexp.MustCompile(`(?:activity|child workflow execution|workflow execution) error \((?:type|scheduledEventID)[^()]*\)(?:: )?`)
	retryableSuffix = regexp.MustCompile(` \(type: [^(),]*, retryable: (?:true|false)\)`)
)

// errorLine makes an error readable in one line of a report: Temporal's
// wrapper prefixes and suffixes removed, the workflow's context and the
// innermost message kept. report.json keeps the full text.
func errorLine(s string) string {
	out := retryableSuffix.ReplaceAllString(temporalWrapper.ReplaceAllString(s, ""), "")
	out = strings.TrimRight(strings.TrimSpace(out), ":")
	if out == "" {
		return s
	}
	return out
}
