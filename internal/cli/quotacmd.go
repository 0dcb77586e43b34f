package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/quota"
)

// quotaCmd is `tubelake quota`: the quota plan and spending of today, per
// key fingerprint and bucket, from DATA/collect/quota.json (written by
// `tubelake collect --loop`).
func quotaCmd(g *globals) *cobra.Command {
	var data string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "quota",
		Short: "Show today's quota plan: spent, left and planned units per API key (fingerprint) and bucket",
		Long: `Reads the collector's quota state (DATA/collect/quota.json, saved by 'tubelake collect --loop')
and prints, per API key fingerprint (never the key) and bucket (one per refresh tier, discovery,
search, spare), the units planned for the current quota day (midnight America/Los_Angeles), spent
and left; TOTAL rows are the key's ledger.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := quotaStatePath(data)
			st, ok, err := quota.LoadState(path)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no quota state in %s: run 'tubelake collect --loop --data %s' first", path, data)
			}
			now := time.Now()
			rows := st.Rows(now)
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Day     string      `json:"day"`
					SavedAt time.Time   `json:"savedAt"`
					Rows    []quota.Row `json:"rows"`
				}{quota.Day(now), st.SavedAt, rows})
			}
			fmt.Fprintf(g.stdout, "quota day %s (America/Los_Angeles), next reset %s, state saved %s\n",
				quota.Day(now), quota.NextReset(now).UTC().Format(time.RFC3339), st.SavedAt.Format(time.RFC3339))
			if st.Day != quota.Day(now) {
				fmt.Fprintf(g.stdout, "(the saved state is from quota day %s: today's spending starts at 0)\n", st.Day)
			}
			return quota.WriteTable(g.stdout, rows)
		},
	}
	cmd.Flags().StringVar(&data, "data", "./tubelake-data", "data directory of the collector")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}
