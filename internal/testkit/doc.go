// Package testkit holds the fixtures tests share, written once: a free
// TCP port, and a tree of files built from a spec.
package testkit
