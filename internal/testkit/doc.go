// Package testkit holds the fixtures tests share, written once: a free
// TCP port, a tree of files built from a spec, and the hosts part of a
// plan for tests that load plans without connecting.
package testkit
