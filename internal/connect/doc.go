// Package connect turns Temporal's client environment configuration (the
// TOML profiles, the TEMPORAL_* variables) and the CLI-style connection
// flags into SDK client options, with the Temporal CLI's precedence:
// flags over environment over profile file.
package connect
