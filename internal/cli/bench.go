package cli

import "github.com/spf13/cobra"

func benchCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "bench", Short: "Benchmarks that print a table"}
}
