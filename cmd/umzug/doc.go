// Command umzug is the single binary of the umzug migration orchestrator:
// embedded Temporal (dev, demo), workers, plan tools and move control.
// One file per subcommand; each registers itself in init.
package main
