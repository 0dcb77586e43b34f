package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/collect"
	"github.com/tubelake/tubelake/internal/stream"
	"github.com/tubelake/tubelake/internal/yt"
)

// readChannelIDs reads channel ids from a file: one per line, or a CSV whose
// first column is the id (a header line and blank lines are ignored).
func readChannelIDs(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseChannelIDs(f, path)
}

func parseChannelIDs(r io.Reader, name string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if i := strings.IndexByte(s, ','); i >= 0 {
			s = strings.Trim(strings.TrimSpace(s[:i]), `"`)
		}
		if s == "" || strings.HasPrefix(s, "#") || (line == 1 && yt.ValidateChannelID(s) != nil && !strings.HasPrefix(s, "UC")) {
			continue
		}
		if err := yt.ValidateChannelID(s); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if !seen[s] {
			seen[s] = true
			ids = append(ids, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ids, nil
}

type collectFlags struct {
	endpoint string
	keys     []string
	keysFile string
	workers  int
	maxVid   int
}

func (f *collectFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.endpoint, "endpoint", "https://youtube.googleapis.com", "YouTube API base URL (the emulator's URL to collect from `tubelake sim`)")
	fl.StringSliceVar(&f.keys, "key", nil, "YouTube Data API key (repeatable); prefer --keys-file or $TUBELAKE_YOUTUBE_KEYS so keys stay out of shell history")
	fl.StringVar(&f.keysFile, "keys-file", "", "file with one API key per line")
	fl.IntVar(&f.workers, "workers", 32, "concurrent API calls")
	fl.IntVar(&f.maxVid, "max-videos-per-channel", 0, "newest uploads to collect per channel (0 = all)")
}

func (f *collectFlags) apiKeys() ([]string, error) {
	keys := append([]string(nil), f.keys...)
	if env := os.Getenv("TUBELAKE_YOUTUBE_KEYS"); env != "" {
		keys = append(keys, strings.Split(env, ",")...)
	}
	if f.keysFile != "" {
		b, err := os.ReadFile(f.keysFile)
		if err != nil {
			return nil, fmt.Errorf("--keys-file: %w", err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				keys = append(keys, l)
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no API key: pass --key, --keys-file or set TUBELAKE_YOUTUBE_KEYS")
	}
	return keys, nil
}

func progressLine(g *globals, start time.Time) func(collect.Stats) {
	return func(s collect.Stats) {
		el := time.Since(start).Seconds()
		if el <= 0 {
			el = 1
		}
		fmt.Fprintf(g.stderr, "\rcollect: %d channels, %d videos (%.0f/s), %d calls (%.1f/s), %d quota units, %d tombstones, %d retries   ",
			s.Channels, s.Videos, float64(s.Videos)/el, s.Calls, float64(s.Calls)/el, s.QuotaUnits, s.Tombstones, s.Retries)
	}
}

func collectCmd(g *globals) *cobra.Command {
	var nf nodeFlags
	var cf collectFlags
	var channels []string
	var channelsFile string
	var sinks bool
	cmd := &cobra.Command{
		Use:   "collect",
		Short: "Collect channels and their videos from the YouTube API (or the emulator) into the stream",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			ids := append([]string(nil), channels...)
			for _, id := range ids {
				if err := yt.ValidateChannelID(id); err != nil {
					return fmt.Errorf("--channel: %w", err)
				}
			}
			if channelsFile != "" {
				more, err := readChannelIDs(channelsFile)
				if err != nil {
					return err
				}
				ids = append(ids, more...)
			}
			if len(ids) == 0 {
				return fmt.Errorf("no channels: pass --channel UC... or --channels-file FILE")
			}
			keys, err := cf.apiKeys()
			if err != nil {
				return err
			}
			log := g.logger()
			var pub collect.Publisher
			var wait func() error
			if sinks {
				n, err := nf.open(ctx, log, nil)
				if err != nil {
					return err
				}
				defer n.Close()
				runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
				runErr := make(chan error, 1)
				go func() { runErr <- n.Run(runCtx) }()
				pub = n
				wait = func() error {
					wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
					defer cancel()
					werr := n.WaitIdle(wctx)
					stop()
					if err := <-runErr; err != nil {
						return err
					}
					return werr
				}
			} else {
				s, err := stream.Open(ctx, stream.Config{URL: nf.streamURL, Dir: nf.data + "/stream", Logger: log})
				if err != nil {
					return err
				}
				defer s.Close()
				pub = s
				wait = func() error { return nil }
			}
			start := time.Now()
			c, err := collect.New(collect.Config{Endpoint: cf.endpoint, APIKeys: keys, Workers: cf.workers, MaxVideosPerChannel: cf.maxVid,
				Logger: log.With("component", "collect"), Progress: progressLine(g, start)}, pub)
			if err != nil {
				return err
			}
			st, cerr := c.Collect(ctx, ids)
			fmt.Fprintln(g.stderr)
			fmt.Fprintf(g.stdout, "collected %d channels, %d videos, %d tombstones in %s: %d calls, %d quota units, errors %v\n",
				st.Channels, st.Videos, st.Tombstones, st.Elapsed.Round(time.Millisecond), st.Calls, st.QuotaUnits, st.Errors)
			if err := wait(); err != nil {
				return err
			}
			return cerr
		},
	}
	nf.register(cmd)
	cf.register(cmd)
	cmd.Flags().StringSliceVar(&channels, "channel", nil, "channel id to collect (repeatable)")
	cmd.Flags().StringVar(&channelsFile, "channels-file", "", "file of channel ids (one per line, or CSV with the id first)")
	cmd.Flags().BoolVar(&sinks, "sinks", true, "also run the lake and index sinks in this process (false: only publish to the stream, e.g. --stream nats://...)")
	return cmd
}
