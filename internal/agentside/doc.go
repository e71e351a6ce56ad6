// Package agentside implements mirror.Side over a root an umzug-agent
// holds open on a host (agentclient.Root), so the copy engine runs with
// both trees remote and the worker relaying the bytes between two agents.
//
// Every name is resolved by the agent beneath its root without following a
// symlink; the walk lists one directory per request, like
// mirror.LocalSide, so a directory that cannot be listed or that was
// replaced while listed yields an entry with ListErr instead of failing
// the copy. The private state blobs live under a second root the agent
// opens on a directory the caller has checked (see OpenState).
package agentside
