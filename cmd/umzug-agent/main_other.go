//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "umzug-agent runs on Linux hosts only")
	os.Exit(1)
}
