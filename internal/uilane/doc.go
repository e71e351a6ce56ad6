// Package uilane is the Web UI lane: with the build tag uilane, its test
// builds umzug, starts `umzug dev` with its Temporal Web UI, starts the
// finance move against the two in-process demo data centers, and decides
// on it in Debian's headless chromium through the UI's own dialogs (More
// Actions → Send a Signal / Send an Update), driven by ui-tests/decide.mjs
// with puppeteer-core. It then checks what `umzug status` and `umzug audit`
// say about those decisions. Screenshots, the dev server's log and the
// audit land in ui-tests/artifacts (or $UI_ARTIFACTS).
//
//	go test -tags uilane -count=1 -v ./internal/uilane
//
// It needs chromium, node and `npm ci` in ui-tests; .ci/ui-lane sets them
// up. The package holds no code outside the tagged tests.
package uilane
