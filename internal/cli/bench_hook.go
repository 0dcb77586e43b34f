package cli

import "github.com/spf13/cobra"

// addBench registers `tubelake bench` (defined in bench.go).
func addBench(root *cobra.Command, g *globals) {
	root.AddCommand(benchCmd(g))
}
