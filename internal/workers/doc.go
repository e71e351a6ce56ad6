// Package workers builds the umzug Temporal worker: the move and wave
// workflows plus the SSH/SFTP activities, on one task queue. `umzug worker`,
// `umzug dev`, `umzug demo` and the end-to-end tests all use it.
package workers
