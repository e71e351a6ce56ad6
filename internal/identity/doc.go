// Package identity turns the names people type (`--as`, the "approver" of
// a Web UI signal, the approver lists of a plan) into canonical keys, so
// that four-eyes, quorum and the approver lists compare people, not
// spellings: `A.Meier`, ` a.meier ` and `ａ.ｍｅｉｅｒ` (full width) are one
// person, and a name that mixes scripts (a Cyrillic `а` in `а.meier`) is
// refused rather than guessed at.
package identity
