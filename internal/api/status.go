package api

import (
	"context"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/quota"
)

// StatusView is the pipeline's status for operators and the dashboard.
type StatusView struct {
	Time time.Time `json:"time"`
	// Pipeline is the node's own report (stream size, consumer lag per
	// sink, applied and committed sequences), when this process runs one.
	Pipeline      any          `json:"pipeline"`
	PipelineError string       `json:"pipeline_error,omitempty"`
	Index         index.Stats  `json:"index"`
	Quota         *QuotaStatus `json:"quota,omitempty"`
	CollectionLag []LagTier    `json:"collection_lag"`
	LagError      string       `json:"collection_lag_error,omitempty"`
	// APIKeys is the number of enabled client API keys.
	APIKeys int `json:"api_keys"`
	// CollectorTiers is the in-process collector's scheduler view per
	// refresh tier (from its metrics; empty when no collector runs here).
	CollectorTiers []CollectorTier `json:"collector_tiers"`
	// Errors counts the collector's failed calls by reason.
	Errors []ReasonCount `json:"errors"`
	// Counters are monotonic totals for rates (records collected, made
	// durable per sink, dead letters); the dashboard differentiates them.
	Counters map[string]float64 `json:"counters"`
}

// CollectorTier is one refresh tier of the collector's scheduler.
type CollectorTier struct {
	Tier       string  `json:"tier"`
	Items      float64 `json:"items"`
	Overdue    float64 `json:"overdue"`
	LagSeconds float64 `json:"lag_seconds"`
}

// ReasonCount is a count of failures by operation and reason.
type ReasonCount struct {
	Op     string  `json:"op"`
	Reason string  `json:"reason"`
	Count  float64 `json:"count"`
}

// QuotaStatus sums the collector's YouTube quota ledger.
type QuotaStatus struct {
	Used      int64         `json:"used"`
	Limit     int64         `json:"limit"`
	Remaining int64         `json:"remaining"`
	ResetAt   time.Time     `json:"reset_at"`
	Keys      []quota.Usage `json:"keys"`
}

// LagTier is how stale channel observations are, per subscriber tier: the
// age of each channel's newest observation in the lake.
type LagTier struct {
	Tier       string    `json:"tier"`
	Channels   int64     `json:"channels"`
	P50Seconds float64   `json:"p50_seconds"`
	P90Seconds float64   `json:"p90_seconds"`
	MaxSeconds float64   `json:"max_seconds"`
	NewestAt   time.Time `json:"newest_at"`
}

const lagSQL = `WITH l AS (
  SELECT channel_id, max(fetched_at) AS last, arg_max(subscriber_count, fetched_at) AS subs FROM channel_stats GROUP BY channel_id
)
SELECT CASE WHEN subs IS NULL THEN 'hidden' WHEN subs >= 1000000 THEN '1M+' WHEN subs >= 100000 THEN '100K-1M'
            WHEN subs >= 10000 THEN '10K-100K' ELSE '<10K' END AS tier,
  count(*), quantile_cont(epoch(last), 0.5), quantile_cont(epoch(last), 0.1), min(epoch(last)), max(last),
  max(coalesce(subs, -1)) AS o
FROM l GROUP BY 1 ORDER BY o DESC`

func (s *server) status(w http.ResponseWriter, r *http.Request, _ params) {
	now := s.cfg.Now().UTC()
	out := StatusView{Time: now, Index: s.cfg.Index.Stats(), CollectionLag: []LagTier{}}
	if s.cfg.Status != nil {
		st, err := s.cfg.Status.Status(r.Context())
		if err != nil {
			out.PipelineError = err.Error()
		}
		out.Pipeline = st
	}
	if s.cfg.Quota != nil {
		qs := &QuotaStatus{Keys: s.cfg.Quota(), ResetAt: quota.NextReset(now)}
		if qs.Keys == nil {
			qs.Keys = []quota.Usage{}
		}
		for _, u := range qs.Keys {
			qs.Used += u.Used
			qs.Limit += u.Limit
			qs.Remaining += u.Remaining()
		}
		out.Quota = qs
	}
	if s.cfg.Keys != nil {
		out.APIKeys = s.cfg.Keys.Len()
	}
	if s.cfg.Lake != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		res, err := s.lakeQuery(ctx, lagSQL)
		if err != nil {
			out.LagError = err.Error()
		} else {
			sec := func(v any) float64 { return math.Max(0, float64(now.UnixMicro())/1e6-asFloat(v)) }
			for _, row := range res.Rows {
				t := LagTier{Tier: asString(row[0]), P50Seconds: sec(row[2]), P90Seconds: sec(row[3]), MaxSeconds: sec(row[4]), NewestAt: asTime(row[5])}
				if n := asInt(row[1]); n != nil {
					t.Channels = *n
				}
				out.CollectionLag = append(out.CollectionLag, t)
			}
		}
	}
	s.fromMetrics(&out)
	writeJSON(w, http.StatusOK, out)
}

// fromMetrics fills the parts of the status that live in Prometheus
// metrics of other components of this process.
func (s *server) fromMetrics(out *StatusView) {
	out.CollectorTiers, out.Errors, out.Counters = []CollectorTier{}, []ReasonCount{}, map[string]float64{}
	if s.cfg.Gatherer == nil {
		return
	}
	mfs, err := s.cfg.Gatherer.Gather()
	if err != nil {
		return
	}
	tiers := map[string]*CollectorTier{}
	tier := func(name string) *CollectorTier {
		t := tiers[name]
		if t == nil {
			t = &CollectorTier{Tier: name}
			tiers[name] = t
		}
		return t
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			val := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			switch mf.GetName() {
			case "tubelake_collect_tier_items":
				tier(labels["tier"]).Items = val
			case "tubelake_collect_tier_overdue_items":
				tier(labels["tier"]).Overdue = val
			case "tubelake_collect_tier_lag_seconds":
				tier(labels["tier"]).LagSeconds = val
			case "tubelake_collect_errors_total":
				out.Errors = append(out.Errors, ReasonCount{Op: labels["op"], Reason: labels["reason"], Count: val})
			case "tubelake_collect_records_total":
				out.Counters["collected_records"] += val
			case "tubelake_sink_records_total":
				out.Counters["sink_records_"+labels["sink"]] += val
			case "tubelake_dead_letters_total":
				out.Counters["dead_letters"] += val
			case "tubelake_collect_api_calls_total":
				out.Counters["youtube_calls"] += val
			case "tubelake_collect_quota_units_total":
				out.Counters["quota_units"] += val
			case "tubelake_http_requests_total":
				out.Counters["http_requests"] += val
			}
		}
	}
	names := make([]string, 0, len(tiers))
	for n := range tiers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out.CollectorTiers = append(out.CollectorTiers, *tiers[n])
	}
	sort.Slice(out.Errors, func(i, j int) bool { return out.Errors[i].Count > out.Errors[j].Count })
}
