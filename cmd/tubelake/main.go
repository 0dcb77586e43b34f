// Command tubelake collects YouTube channel and video metadata, streams it,
// keeps its history in a Parquet lake and serves keyword search.
package main

import (
	"os"

	"github.com/tubelake/tubelake/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
