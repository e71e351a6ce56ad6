// Package refusal names the kinds of source entries a copy refuses to
// copy. It has no dependencies, so the plan loader (which does no I/O)
// and the copy engine share one list.
package refusal
