package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/api"
)

// apikeyCmd manages the API keys clients of `tubelake serve` present.
func apikeyCmd(g *globals) *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "Create, list and revoke client API keys for `tubelake serve` (stored hashed in <data>/apikeys.json)",
	}
	cmd.PersistentFlags().StringVar(&data, "data", "./tubelake-data", "data directory")
	var name string
	var perSecond float64
	var burst int
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a key; it is printed once and only its salted hash is stored",
		Long: `Creates a client API key and prints it once. Only a salted SHA-256 of the
key's random part is stored, so a lost key cannot be recovered: revoke it and
create another. Once a data directory has a key, serve requires one on every
/v1 request (Authorization: Bearer <key> or X-API-Key: <key>); a running
server picks up new and revoked keys within a second.`,
		Example: "  tubelake apikey create --data ./tubelake-data --name backend --rate 100",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return fmt.Errorf("apikey create: --name is required")
			}
			ks, err := api.OpenKeyStore(data)
			if err != nil {
				return err
			}
			secret, k, err := ks.Create(name, perSecond, burst)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "created key %s (%q, %g requests/s, burst %d); store it now, it is not shown again:\n", k.ID, k.Name, k.Rate, k.Burst)
			fmt.Fprintln(g.stdout, secret)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "who the key is for (1-64 letters, digits, spaces, ._@-)")
	create.Flags().Float64Var(&perSecond, "rate", 20, "requests per second allowed to this key (0 = unlimited)")
	create.Flags().IntVar(&burst, "burst", 0, "burst allowed to this key (default: the rate rounded up)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List keys (ids, names, limits; never secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, err := api.OpenKeyStore(data)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tRATE/S\tBURST\tCREATED\tSTATE")
			for _, k := range ks.List() {
				state := "active"
				if k.Disabled {
					state = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%g\t%d\t%s\t%s\n", k.ID, k.Name, k.Rate, k.Burst, k.CreatedAt.Format(time.RFC3339), state)
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID|NAME",
		Short: "Revoke a key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := api.OpenKeyStore(data)
			if err != nil {
				return err
			}
			if err := ks.Revoke(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "revoked %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
