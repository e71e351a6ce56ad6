// Package agentproto is the wire protocol between umzug and umzug-agent,
// the helper it runs on each host over an SSH session's stdin/stdout.
//
// The stream starts with the agent's 8-byte Magic and a Hello frame (the
// agent speaks first); the client refuses anything else with an error that
// says what it got. After that both sides exchange frames:
//
//	uint32 payload length | uint8 type | uint32 request id | payload
//
// big-endian, the payload at most MaxPayload bytes. The client picks request
// ids, so several requests can be in flight; every frame of a request's
// answer carries its id and the answer ends with exactly one Result or
// Error frame. Streams (List entries, Read data, Write data from the client)
// are sequences of Entries or Chunk frames; a Write's data ends with End.
// ReadBatch and WriteBatch (batch.go) carry many small files in one
// request, answered with a BatchItem frame per file.
//
// Payloads are encoded field by field with encoding/binary; every length is
// checked against what is left of the frame before anything is allocated,
// and a frame's length against MaxPayload before it is read.
package agentproto
