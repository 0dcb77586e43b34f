package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/collect"
	"github.com/tubelake/tubelake/internal/lakesql"
	"github.com/tubelake/tubelake/internal/pipeline"
	"github.com/tubelake/tubelake/internal/procstat"
	"github.com/tubelake/tubelake/internal/quota"
	"github.com/tubelake/tubelake/internal/schedule"
	"github.com/tubelake/tubelake/internal/sim"
	"github.com/tubelake/tubelake/internal/yt"
)

// benchCollectCmd is `tubelake bench collect` (register it under `bench`).
func benchCollectCmd(g *globals) *cobra.Command {
	var o benchCollectOpts
	cmd := &cobra.Command{
		Use:   "collect",
		Short: "Benchmark the collector against the emulator: refresh throughput vs the ideal bound, or a simulated day (--day)",
		Long: `Throughput (default): starts 'tubelake sim' as a child process on 127.0.0.1 (so that this
process's CPU and RSS are the collector's alone) with --latency per call and an unlimited quota,
then refreshes the universe's videos by id (videos.list, 50 ids a call): first a naive serial
collector (1 worker) for --baseline, then the collector with --workers. Prints videos refreshed
per second, the ideal bound min(quota bound, workers x 50 / latency), the ratio, and the
collector's CPU (getrusage) and peak RSS. Records are counted and discarded (the stream has its
own benchmark).

--day: an in-process emulator with --keys keys of 10,000 units/day and a simulated clock driven
step by step through one quota day (midnight to midnight America/Los_Angeles): the scheduler
loop seeds the channels, polls feeds and refreshes due items each --step. Prints units per key
(ledger vs emulator: they must match exactly), calls refused for quota (must be 0), spending per
plan bucket, and per tier the refreshes and the freshness achieved vs the configured interval.

--faults: an in-process emulator injecting 10 % 503 backendError, 5 % timeouts and 5 % truncated
bodies, with one key that runs out of quota mid-run (quotaExceeded) and a healthy one; crawls
--fault-channels channels (all uploads) into embedded JetStream and the lake, then counts the lake
with DuckDB: every upload must be there exactly once (a video row or a tombstone), per record id.
Prints calls, faults by kind (as the emulator counted them), retries, backoff, keys parked,
records published and in the lake, duplicates and missing.`,
		Example: "  tubelake bench collect\n  tubelake bench collect --day\n  tubelake bench collect --faults",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.command = commandLine(cmd)
			if o.day {
				return benchDay(cmd.Context(), g, o)
			}
			if o.faults {
				return benchFaults(cmd.Context(), g, o)
			}
			return benchThroughput(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.day, "day", false, "run the simulated-day benchmark instead of the throughput one")
	f.BoolVar(&o.faults, "faults", false, "run the fault benchmark: crawl --fault-channels channels into the stream and lake under injected faults and a key running out of quota, then count the lake with DuckDB")
	f.IntVar(&o.faultChannels, "fault-channels", 300, "channels crawled in the fault run")
	f.IntVar(&o.channels, "channels", 10000, "channels in the emulated universe (throughput)")
	f.IntVar(&o.perChannel, "videos-per-channel", 100, "mean uploads per channel")
	f.IntVar(&o.videos, "videos", 0, "videos to refresh in the throughput run (0 = all uploads of all channels)")
	f.IntVar(&o.workers, "workers", 64, "concurrent calls of the parallel collector")
	f.DurationVar(&o.latency, "latency", 200*time.Millisecond, "emulator latency per call")
	f.DurationVar(&o.baseline, "baseline", 10*time.Second, "how long the naive serial collector runs")
	f.IntVar(&o.loopVideos, "scheduled-videos", 300000, "also refresh this many videos through the scheduler (bbolt lease, change detection, commit); 0 = skip")
	f.Int64Var(&o.seed, "seed", 1, "universe seed")
	f.IntVar(&o.dayChannels, "day-channels", 2000, "channels in the simulated-day universe")
	f.IntVar(&o.dayKeys, "keys", 3, "API keys in the simulated day (10,000 units each)")
	f.DurationVar(&o.step, "step", 10*time.Minute, "simulated time between two scheduler cycles in the simulated day")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the parallel and scheduled runs (this process: the collector) to this file")
	_ = f.MarkHidden("cpuprofile")
	f.BoolVar(&o.fullResponses, "full-responses", false, "ask for whole parts instead of partial responses (fields=), to measure what fields saves")
	return cmd
}

type benchCollectOpts struct {
	command                      string
	day                          bool
	channels, perChannel, videos int
	workers, loopVideos          int
	latency, baseline            time.Duration
	seed                         int64
	dayChannels, dayKeys         int
	step                         time.Duration
	cpuProfile                   string
	fullResponses                bool
	faults                       bool
	faultChannels                int
}

// countingPublisher counts what would be published.
type countingPublisher struct{ videos, tombstones, events, channels atomic.Int64 }

func (p *countingPublisher) Publish(_ context.Context, recs ...yt.Record) error {
	for _, r := range recs {
		switch {
		case r.Video != nil:
			p.videos.Add(1)
		case r.Channel != nil:
			p.channels.Add(1)
		case r.Event != nil && r.Event.Type == yt.EventTombstone:
			p.tombstones.Add(1)
		default:
			p.events.Add(1)
		}
	}
	return nil
}

// childCPU returns the user+system CPU of a child process from /proc.
func childCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// startSimChild runs `tubelake sim` on a loopback port and returns its URL.
func startSimChild(ctx context.Context, o benchCollectOpts) (string, *exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "sim", "--addr", "127.0.0.1:0", "--seed", strconv.FormatInt(o.seed, 10),
		"--channels", strconv.Itoa(o.channels), "--videos-per-channel", strconv.Itoa(o.perChannel),
		"--latency", o.latency.String(), "--quota", "-1", "--log-level", "error")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start emulator: %w", err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		l := sc.Text()
		if rest, ok := strings.CutPrefix(l, "YouTube emulator on "); ok {
			url, _, _ := strings.Cut(rest, " ")
			go io.Copy(io.Discard, out)
			return url, cmd, nil
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	return "", nil, errors.New("emulator child did not print its address")
}

type throughputRow struct {
	name       string
	workers    int
	ids        int64
	elapsed    time.Duration
	calls      int64
	cpu        time.Duration
	bound      float64
	childCPU   time.Duration
	tombstones int64
	gc         procstat.GCStats
}

func (r throughputRow) rate() float64 { return float64(r.ids) / r.elapsed.Seconds() }

func benchThroughput(ctx context.Context, g *globals, o benchCollectOpts) error {
	if o.workers < 1 || o.latency <= 0 {
		return errors.New("bench collect: --workers must be >= 1 and --latency > 0")
	}
	fmt.Fprintf(g.stderr, "bench collect: generating ids of %d channels x %d videos...\n", o.channels, o.perChannel)
	ids, err := universeIDs(o)
	if err != nil {
		return err
	}
	if o.videos > 0 && o.videos < len(ids) {
		ids = ids[:o.videos]
	}
	url, child, err := startSimChild(ctx, o)
	if err != nil {
		return err
	}
	defer func() { child.Process.Signal(os.Interrupt); child.Wait() }()
	fmt.Fprintf(g.stderr, "bench collect: emulator child pid %d on %s, latency %s; %d video ids\n", child.Process.Pid, url, o.latency, len(ids))

	// This process is the collector alone, like `tubelake collect --sinks=false`.
	defer tuneCollectorGC()()
	var peakRSS atomic.Int64 // bytes, sampled every second while the collectors run
	load0 := procstat.LoadAvg1()
	run := func(name string, workers int, ids []string, limit time.Duration) (throughputRow, error) {
		pub := &countingPublisher{}
		c, err := collect.New(collect.Config{Endpoint: url, APIKeys: []string{"bench-key"}, Workers: workers,
			QuotaPerDay: 1 << 40, RatePerKey: -1, FullResponses: o.fullResponses}, pub)
		if err != nil {
			return throughputRow{}, err
		}
		rctx, cancel := context.WithCancel(ctx)
		if limit > 0 {
			rctx, cancel = context.WithTimeout(ctx, limit)
		}
		defer cancel()
		done := make(chan struct{})
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			start := time.Now()
			for {
				select {
				case <-t.C:
					if rss := procstat.RSS(); rss > peakRSS.Load() {
						peakRSS.Store(rss)
					}
					n := pub.videos.Load() + pub.tombstones.Load()
					fmt.Fprintf(g.stderr, "\r  %s: %d ids, %.0f/s   ", name, n, float64(n)/time.Since(start).Seconds())
				case <-done:
					fmt.Fprintln(g.stderr)
					return
				}
			}
		}()
		var st collect.Stats
		var ferr error
		row := measured(child.Process.Pid, func() { st, ferr = c.FetchVideos(rctx, ids) })
		close(done)
		if ferr != nil && !(limit > 0 && errors.Is(ferr, context.DeadlineExceeded)) {
			return throughputRow{}, ferr
		}
		row.name, row.workers, row.calls = name, workers, st.Calls
		row.ids, row.tombstones = pub.videos.Load()+pub.tombstones.Load(), pub.tombstones.Load()
		row.bound = float64(workers) * 50 / o.latency.Seconds()
		return row, nil
	}
	base, err := run("serial baseline", 1, ids, o.baseline)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		pf, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("bench collect: cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	par, err := run("parallel", o.workers, ids, 0)
	if err != nil {
		return err
	}
	rows := []throughputRow{base, par}
	if o.loopVideos > 0 {
		lr, err := benchScheduled(ctx, g, o, url, ids[:min(o.loopVideos, len(ids))], child.Process.Pid)
		if err != nil {
			return err
		}
		rows = append(rows, lr)
	}
	load1 := procstat.LoadAvg1()

	w := g.stdout
	fmt.Fprintf(w, "command: %s\ndate: %s\nemulator: child process, %d channels x %d videos/channel (%d ids refreshed), latency %s, unlimited quota\n\n",
		o.command, time.Now().UTC().Format(time.RFC3339), o.channels, o.perChannel, par.ids, o.latency)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| collector | workers | ids refreshed | elapsed | videos/s | ideal bound/s | ratio | calls | worker time per call | collector CPU | CPU % of one core | GC cycles / GC CPU | emulator CPU |")
	fmt.Fprintln(tw, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		perCall := time.Duration(0)
		if r.calls > 0 {
			perCall = time.Duration(float64(r.workers) * float64(r.elapsed) / float64(r.calls))
		}
		fmt.Fprintf(tw, "| %s | %d | %d | %s | %.0f | %.0f | %.1f %% | %d | %s | %s | %.1f %% | %d / %s | %s |\n", r.name, r.workers, r.ids, r.elapsed.Round(time.Millisecond),
			r.rate(), r.bound, 100*r.rate()/r.bound, r.calls, perCall.Round(time.Millisecond), r.cpu.Round(time.Millisecond), 100*r.cpu.Seconds()/r.elapsed.Seconds(),
			r.gc.Cycles, r.gc.CPU.Round(time.Millisecond), r.childCPU.Round(10*time.Millisecond))
	}
	tw.Flush()
	perKeyDay := float64(quota.DefaultPerDay*50) / 86400
	fmt.Fprintf(w, "\nspeed-up over the serial baseline: %.1fx; collector RSS while collecting (max of 1 s samples): %d MB (process peak VmHWM incl. id generation: %d MB)\n",
		par.rate()/base.rate(), peakRSS.Load()>>20, procstat.Status("VmHWM")>>20)
	fmt.Fprintf(w, "machine load (1-min load average) before/after: %s / %s on %d CPUs\n", load0, load1, runtime.NumCPU())
	fmt.Fprintf(w, "quota bound with real keys (10,000 units/day, 50 ids/unit): %.1f videos/s per key, so %d workers saturate %.0f keys\n",
		perKeyDay, o.workers, par.bound/perKeyDay)
	return nil
}

// universeIDs lists the uploads of the universe's channels from the
// emulator's own (lazy, deterministic) model, as the scheduler would know them.
func universeIDs(o benchCollectOpts) ([]string, error) {
	srv, err := sim.New(sim.Config{Seed: o.seed, Channels: o.channels, VideosPerChannel: o.perChannel})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	at := sim.DefaultStart
	ids := make([]string, 0, o.channels*o.perChannel)
	for _, ch := range srv.ChannelIDs(o.channels) {
		ids = append(ids, srv.UploadIDs(ch, at)...)
	}
	return ids, nil
}

// ---- simulated day ----

func benchDay(ctx context.Context, g *globals, o benchCollectOpts) error {
	if o.dayKeys < 1 || o.step <= 0 {
		return errors.New("bench collect --day: --keys must be >= 1 and --step > 0")
	}
	keys := make([]string, o.dayKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench-day-key-%d", i+1)
	}
	// The quota day 2026-11-20 (PST) runs 08:00 UTC to 08:00 UTC next day.
	dayStart := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	var clockMu sync.Mutex
	real := dayStart
	simNow := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return real }
	srv, err := sim.New(sim.Config{Seed: o.seed, Channels: o.dayChannels, VideosPerChannel: o.perChannel, QuotaPerDay: quota.DefaultPerDay,
		Keys: keys, Start: dayStart, Now: simNow})
	if err != nil {
		return err
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Close()

	dir, err := os.MkdirTemp("", "tubelake-bench-day-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := schedule.Open(filepath.Join(dir, "schedule.db"), schedule.Config{})
	if err != nil {
		return err
	}
	defer store.Close()
	keyIDs := make([]string, len(keys))
	for i, k := range keys {
		keyIDs[i] = quota.KeyID(k)
	}
	ledger := quota.New(quota.DefaultPerDay, srv.Now)
	planner := quota.NewPlanner(ledger, keyIDs, quota.PlanConfig{})
	pub := &countingPublisher{}
	c, err := collect.New(collect.Config{Endpoint: hs.URL, APIKeys: keys, Workers: 32, Planner: planner, Now: srv.Now}, pub)
	if err != nil {
		return err
	}
	cy, err := c.NewCycler(collect.LoopConfig{Store: store, Tick: o.step, FeedInterval: time.Hour})
	if err != nil {
		return err
	}
	chans := srv.ChannelIDs(o.dayChannels)
	if _, err := c.Seed(store, chans); err != nil {
		return err
	}
	cfg := store.Config()
	type fresh struct {
		samples   int
		freshSum  float64
		maxLag    time.Duration
		itemsLast int
	}
	fr := map[string]*fresh{}
	var st collect.LoopStats
	wall := time.Now()
	cpu0 := procstat.CPU()
	steps := int(24 * time.Hour / o.step)
	var refusedSteps int
	for i := 0; i < steps; i++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		st, err = cy.Cycle(ctx)
		if err != nil && !errors.Is(err, collect.ErrBudgetExhausted) && !errors.Is(err, collect.ErrQuotaExhausted) {
			return err
		}
		if err != nil {
			refusedSteps++
		}
		// Freshness is sampled after the first hour (the seed walk).
		if srv.Now().Sub(dayStart) >= time.Hour {
			for _, t := range st.Tiers {
				f := fr[t.Tier]
				if f == nil {
					f = &fresh{}
					fr[t.Tier] = f
				}
				if t.Items > 0 {
					f.samples++
					f.freshSum += 1 - float64(t.Overdue)/float64(t.Items)
				}
				f.maxLag = max(f.maxLag, t.Lag)
				f.itemsLast = t.Items
			}
		}
		if el := srv.Now().Sub(dayStart); el%time.Hour < o.step {
			fmt.Fprintf(g.stderr, "  simulated %s (wall %s): %d calls, %d videos, %d events, quota left %d\n",
				el.Round(time.Minute), time.Since(wall).Round(time.Second), st.Calls, st.Videos, st.Events, st.QuotaLeft)
		}
		if i == steps-1 {
			break // stay inside the quota day for the accounting below
		}
		clockMu.Lock()
		real = real.Add(o.step)
		clockMu.Unlock()
	}
	elapsed, cpu := time.Since(wall), procstat.CPU()-cpu0
	usage := srv.Usage()

	w := g.stdout
	fmt.Fprintf(w, "command: %s\ndate: %s\nuniverse: %d channels x %d videos/channel, %d keys x %d units/day, one cycle every %s of simulated time, feeds polled hourly\n",
		o.command, time.Now().UTC().Format(time.RFC3339), o.dayChannels, o.perChannel, len(keys), quota.DefaultPerDay, o.step)
	fmt.Fprintf(w, "simulated %s in %s wall time, %s CPU; %d calls, %d videos, %d channels, %d events, %d tombstones, %d feed polls, %d videos discovered, %d playlist fallbacks\n\n",
		24*time.Hour, elapsed.Round(time.Second), cpu.Round(time.Second), st.Calls, st.Videos, st.Channels, st.Events, st.Tombstones, st.FeedPolls, st.Discovered, st.Fallbacks)

	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| key | units (ledger) | units (emulator) | match | refused for quota |")
	fmt.Fprintln(tw, "|---|---|---|---|---|")
	var totL, totE int64
	allMatch := true
	for i, k := range keys {
		l := ledger.Usage(keyIDs[i]).Used
		e := usage.Units[k]
		totL += l
		totE += e
		if l != e {
			allMatch = false
		}
		fmt.Fprintf(tw, "| %s | %d | %d | %v | - |\n", keyIDs[i], l, e, l == e)
	}
	fmt.Fprintf(tw, "| all | %d | %d | %v | %d |\n", totL, totE, totL == totE, usage.Errors["quotaExceeded"])
	tw.Flush()

	ps := planner.State()
	fmt.Fprintln(w, "\n| plan bucket | planned (end of day; re-planning never plans below what was spent) | spent |")
	fmt.Fprintln(w, "|---|---|---|")
	var buckets []string
	for b := range ps.Plan {
		buckets = append(buckets, b)
	}
	for b := range ps.Spent {
		if _, ok := ps.Plan[b]; !ok {
			buckets = append(buckets, b)
		}
	}
	sort.Strings(buckets)
	for _, b := range buckets {
		var sp int64
		for _, v := range ps.Spent[b] {
			sp += v
		}
		fmt.Fprintf(w, "| %s | %d | %d |\n", b, ps.Plan[b], sp)
	}

	fmt.Fprintln(w, "\n| tier | configured interval | items at end | refreshes (by tier at lease time) | freshness achieved (mean over steps after the first hour: share of items not overdue by more than one step) | max lag |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	tiers := []struct {
		name string
		iv   string
	}{{schedule.ChannelTier, cfg.ChannelInterval.String()}}
	for _, t := range cfg.Tiers {
		iv := t.Interval.String()
		if t.MaxInterval > 0 {
			iv += ".." + t.MaxInterval.String()
		}
		tiers = append(tiers, struct{ name, iv string }{t.Name, iv})
	}
	tiers = append(tiers, struct{ name, iv string }{schedule.NewTier + " (first fetch)", "at discovery"})
	for _, t := range tiers {
		name := strings.TrimSuffix(t.name, " (first fetch)")
		f := fr[name]
		var items int
		fresh := "-"
		lag := "-"
		if f != nil {
			items = f.itemsLast
			if f.samples > 0 {
				fresh = fmt.Sprintf("%.1f %%", 100*f.freshSum/float64(f.samples))
			}
			lag = f.maxLag.Round(time.Second).String()
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %s |\n", t.name, t.iv, items, st.Refreshed[name], fresh, lag)
	}
	if !allMatch || usage.Errors["quotaExceeded"] != 0 {
		return fmt.Errorf("bench collect --day: units ledger %d vs emulator %d, %d calls refused for quota", totL, totE, usage.Errors["quotaExceeded"])
	}
	_ = refusedSteps
	return nil
}

// benchScheduled refreshes ids through the persisted schedule: all due,
// leased in batches, fetched, diffed and committed (Cycler.RefreshDue).
func benchScheduled(ctx context.Context, g *globals, o benchCollectOpts, url string, ids []string, childPid int) (throughputRow, error) {
	dir, err := os.MkdirTemp("", "tubelake-bench-sched-")
	if err != nil {
		return throughputRow{}, err
	}
	defer os.RemoveAll(dir)
	store, err := schedule.Open(filepath.Join(dir, "schedule.db"), schedule.Config{})
	if err != nil {
		return throughputRow{}, err
	}
	defer store.Close()
	at := time.Now()
	vs := make([]schedule.NewVideo, len(ids))
	for i, id := range ids {
		vs[i] = schedule.NewVideo{ID: id}
	}
	if _, err := store.AddVideos(vs, at); err != nil {
		return throughputRow{}, err
	}
	fmt.Fprintf(g.stderr, "  scheduled: %d videos added to the schedule in %s\n", len(ids), time.Since(at).Round(time.Millisecond))
	pub := &countingPublisher{}
	c, err := collect.New(collect.Config{Endpoint: url, APIKeys: []string{"bench-key"}, Workers: o.workers,
		QuotaPerDay: 1 << 40, RatePerKey: -1, FullResponses: o.fullResponses}, pub)
	if err != nil {
		return throughputRow{}, err
	}
	cy, err := c.NewCycler(collect.LoopConfig{Store: store})
	if err != nil {
		return throughputRow{}, err
	}
	var st collect.LoopStats
	row := measured(childPid, func() { st, err = cy.RefreshDue(ctx) })
	if err != nil {
		return throughputRow{}, err
	}
	row.name, row.workers, row.calls = "parallel + schedule", o.workers, st.Calls
	row.ids, row.tombstones = pub.videos.Load()+pub.tombstones.Load(), pub.tombstones.Load()
	row.bound = float64(o.workers) * 50 / o.latency.Seconds()
	return row, nil
}

// measured runs fn after collecting the harness's garbage and returns its
// elapsed time, this process's CPU and GC work, and the emulator child's CPU.
func measured(childPid int, fn func()) throughputRow {
	runtime.GC()
	debug.FreeOSMemory()
	cpu0, ch0, gc0, t0 := procstat.CPU(), childCPU(childPid), procstat.GC(), time.Now()
	fn()
	return throughputRow{elapsed: time.Since(t0), cpu: procstat.CPU() - cpu0, childCPU: childCPU(childPid) - ch0, gc: procstat.GC().Sub(gc0)}
}

// ---- fault run ----

// faultPublisher counts what the collector published into the node.
type faultPublisher struct {
	inner                 collect.Publisher
	records, videos, tomb atomic.Int64
}

func (p *faultPublisher) Publish(ctx context.Context, recs ...yt.Record) error {
	if err := p.inner.Publish(ctx, recs...); err != nil {
		return err
	}
	p.records.Add(int64(len(recs)))
	for _, r := range recs {
		switch {
		case r.Video != nil:
			p.videos.Add(1)
		case r.Event != nil && r.Event.Type == yt.EventTombstone:
			p.tomb.Add(1)
		}
	}
	return nil
}

func benchFaults(ctx context.Context, g *globals, o benchCollectOpts) error {
	if o.faultChannels < 1 {
		return errors.New("bench collect --faults: --fault-channels must be >= 1")
	}
	load0 := procstat.LoadAvg1()
	frozen := time.Now()
	const perKey = 2000
	srv, err := sim.New(sim.Config{Seed: o.seed, Channels: max(o.faultChannels, 1000), VideosPerChannel: o.perChannel, QuotaPerDay: perKey,
		Latency: 20 * time.Millisecond, Fault5xx: 0.10, FaultTimeout: 0.05, FaultTruncate: 0.05, Now: func() time.Time { return frozen }})
	if err != nil {
		return err
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Close() // first: releases requests hanging in a timeout fault
	channels := srv.ChannelIDs(o.faultChannels)
	// The tired key has 10 % of the calls the crawl needs left.
	at := srv.Now()
	var uploads int
	for _, ch := range channels {
		uploads += len(srv.UploadIDs(ch, at))
	}
	needed := uploads/50 + uploads/50 + len(channels)/50 + len(channels)
	left := max(10, needed/10)
	if left >= perKey {
		return fmt.Errorf("bench collect --faults: %d channels need ~%d calls, more than this run's %d units per key", len(channels), needed, perKey)
	}
	// Every call is charged, faulted or not (a timeout fault hangs: short timeout).
	hc := &http.Client{Timeout: 200 * time.Millisecond}
	for range perKey - left {
		if resp, err := hc.Get(hs.URL + "/youtube/v3/videoCategories?part=snippet&regionCode=KR&key=bench-tired"); err == nil {
			resp.Body.Close()
		}
	}
	before := srv.Usage()

	dir, err := os.MkdirTemp("", "tubelake-bench-faults-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	n, err := pipeline.Open(ctx, pipeline.Config{DataDir: dir, MaxWait: 100 * time.Millisecond, Logger: g.logger()})
	if err != nil {
		return err
	}
	defer n.Close()
	runCtx, stopRun := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(runCtx) }()

	reg := prometheus.NewRegistry()
	pub := &faultPublisher{inner: n}
	c, err := collect.New(collect.Config{Endpoint: hs.URL, APIKeys: []string{"bench-tired", "bench-healthy"}, Workers: o.workers,
		RequestTimeout: 500 * time.Millisecond, MaxRetries: 12, RetryBaseDelay: 20 * time.Millisecond, RetryMaxDelay: time.Second,
		Registerer: reg}, pub)
	if err != nil {
		stopRun()
		return err
	}
	fmt.Fprintf(g.stderr, "bench collect --faults: crawling %d channels (%d uploads) under faults...\n", len(channels), uploads)
	t0 := time.Now()
	st, cerr := c.Collect(ctx, channels)
	el := time.Since(t0)
	if err := n.WaitIdle(ctx); err != nil {
		stopRun()
		return err
	}
	stopRun()
	if err := <-runErr; err != nil {
		return err
	}
	usage := srv.Usage()

	public, gone := srv.UploadStates(channels, at)
	db, err := lakesql.Open(ctx, n.LakeDir())
	if err != nil {
		return err
	}
	defer db.Close()
	count := func(sql string) (map[string]int64, error) {
		res, err := db.Query(ctx, sql)
		if err != nil {
			return nil, err
		}
		out := make(map[string]int64, len(res.Rows))
		for _, r := range res.Rows {
			n, _ := r[1].(int64)
			out[fmt.Sprint(r[0])] = n
		}
		return out, nil
	}
	// Physical rows per record id (the views would hide duplicates).
	vrows, err := count(fmt.Sprintf("SELECT id, count(*) FROM read_parquet('%s') GROUP BY id", lakesql.GlobFor(db.Dir(), "videos")))
	if err != nil {
		return err
	}
	trows, err := count(fmt.Sprintf("SELECT entity_id, count(*) FROM read_parquet('%s') WHERE event_type = 'tombstone' AND entity_kind = 'video' GROUP BY entity_id", lakesql.GlobFor(db.Dir(), "events")))
	if err != nil {
		return err
	}
	var inLake, dups, missing, extra int64
	check := func(want map[string]bool, got map[string]int64) {
		for id := range want {
			switch c := got[id]; {
			case c == 0:
				missing++
			case c > 1:
				dups += c - 1
			}
		}
		for id, c := range got {
			inLake += c
			if !want[id] {
				extra += c
			}
		}
	}
	check(public, vrows)
	check(gone, trows)
	metric := func(name string, label, value string) float64 {
		mfs, _ := reg.Gather()
		var sum float64
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				ok := label == ""
				for _, lp := range m.GetLabel() {
					if lp.GetName() == label && lp.GetValue() == value {
						ok = true
					}
				}
				if ok {
					sum += m.GetCounter().GetValue()
				}
			}
		}
		return sum
	}
	faults := func(k string) int64 { return usage.Faults[k] - before.Faults[k] }
	var calls int64
	for k, v := range usage.Calls {
		calls += v - before.Calls[k]
	}
	load1 := procstat.LoadAvg1()

	w := g.stdout
	fmt.Fprintf(w, "command: %s\ndate: %s\nemulator: in-process, %d channels crawled (%d uploads: %d public, %d deleted/private), 20ms latency, faults 10%% 503 / 5%% timeout / 5%% truncated; keys: one with %d units left (of %d), one healthy\n",
		o.command, time.Now().UTC().Format(time.RFC3339), len(channels), uploads, len(public), len(gone), left, perKey)
	fmt.Fprintf(w, "collector: %d workers, 500ms request timeout, up to 12 retries, backoff 20ms..1s with jitter; crawl %s, collect error: %v\n", o.workers, el.Round(time.Millisecond), cerr)
	fmt.Fprintf(w, "machine load (1-min load average) before/after: %s / %s on %d CPUs\n\n", load0, load1, runtime.NumCPU())
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| calls (emulator) | 503 injected | timeouts injected | truncated injected | quotaExceeded | retries (metric) | backoff s (metric) | keys parked (metric) | records published | video+tombstone rows in lake | duplicates | missing | unexpected |")
	fmt.Fprintln(tw, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	fmt.Fprintf(tw, "| %d | %d | %d | %d | %d | %.0f | %.1f | %.0f | %d | %d | %d | %d | %d |\n",
		calls, faults("5xx"), faults("timeout"), faults("truncate"), usage.Errors["quotaExceeded"]-before.Errors["quotaExceeded"],
		metric("tubelake_collect_retries_total", "", ""), metric("tubelake_collect_retry_backoff_seconds_total", "", ""),
		metric("tubelake_collect_keys_parked_total", "", ""), pub.records.Load(), inLake, dups, missing, extra)
	tw.Flush()
	fmt.Fprintf(w, "\ncollector errors by reason: %v; published %d video snapshots + %d tombstones (+ channels)\n", st.Errors, pub.videos.Load(), pub.tomb.Load())
	if cerr != nil || dups+missing+extra > 0 {
		return fmt.Errorf("bench collect --faults: %d duplicates, %d missing, %d unexpected, collect error %v", dups, missing, extra, cerr)
	}
	return nil
}
