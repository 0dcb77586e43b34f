package cli

import "github.com/spf13/cobra"

// addBench registers `tubelake bench` (defined in bench.go) with every
// benchmark subcommand, and the other commands defined outside root.go.
func addBench(root *cobra.Command, g *globals) {
	b := benchCmd(g)
	b.AddCommand(benchCollectCmd(g), benchIngestCmd(g), benchAPICmd(g))
	root.AddCommand(b, apikeyCmd(g), quotaCmd(g))
}
