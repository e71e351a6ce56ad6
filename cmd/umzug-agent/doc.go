// Command umzug-agent is the helper umzug uploads to each host and runs over
// an SSH session: `umzug-agent serve` speaks internal/agentproto on
// stdin/stdout (diagnostics on stderr only) and exits when stdin closes;
// `umzug-agent version` prints the agent and protocol versions. It is a
// static Go binary that needs nothing else on the host: no shell tools,
// python, tar or sha256sum.
package main
