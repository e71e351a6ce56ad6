// Package identity turns the names people type (`--as`, the "approver" of
// a Web UI signal, the approver lists of a plan) into keys by the PRECIS
// UsernameCaseMapped profile of RFC 8265, so that four-eyes, quorum and
// the approver lists compare people, not spellings: `A.Meier`, ` a.meier `
// and `ａ.ｍｅｉｅｒ` (full width) are one person, and a name with an
// invisible or otherwise disallowed code point (zero-width space, soft
// hyphen, bidi controls) is refused rather than guessed at.
//
// Names that differ but look alike (a Cyrillic `а` in `а.meier`) are told
// apart by their UTS #39 skeletons: LookAlike treats them as one person
// wherever counting them twice would help someone (four-eyes, quorum),
// and a plan that lists two of them is refused by `umzug validate`.
//
// The version 1 rules (CanonicalV1) stay only for replaying moves that
// recorded them.
package identity
