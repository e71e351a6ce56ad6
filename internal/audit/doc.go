// Package audit turns a move's workflow history into an auditor's report:
// who started and approved what and when, which commands ran where with
// which exit codes, what was copied and which manifest digests were
// verified. It reads the history alone and replays it against this build,
// so the report also shows that the record is consistent with the code.
package audit
