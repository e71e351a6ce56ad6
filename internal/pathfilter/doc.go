// Package pathfilter decides which entries of a copy set take part in a
// copy, from the set's exclude and include globs (doublestar syntax). The
// classic engine, preflight, the delta scan and internal/mirror all use it,
// so every engine agrees on what a plan copies.
package pathfilter
