// Package deploy holds deployment files (the systemd unit of a site's
// worker); its test checks them with the tools that read them.
package deploy
