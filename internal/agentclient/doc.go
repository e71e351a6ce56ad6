// Package agentclient drives an umzug-agent over a reader/writer pair (an
// SSH session's stdout and stdin in production, pipes in tests) with
// typed methods, one per agent operation. A Client is safe for concurrent
// use: each call has its own request id and several may be in flight.
//
// Streams (List, Read) deliver to a callback or writer in the caller's
// goroutine; the connection's reader waits while that callback runs, so a
// callback must not wait for another call on the same Client.
package agentclient
