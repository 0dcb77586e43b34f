package collect

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the collector's Prometheus series. Labels carry key
// fingerprints (quota.KeyID), never secrets. A nil *metrics is a no-op.
type metrics struct {
	calls     *prometheus.CounterVec // op, key
	units     *prometheus.CounterVec // key
	errors    *prometheus.CounterVec // op, reason
	retries   *prometheus.CounterVec // op
	backoff   *prometheus.CounterVec // op: seconds waited before retries
	records   *prometheus.CounterVec // kind (video, channel, tombstone)
	latency   *prometheus.HistogramVec
	inflight  prometheus.Gauge
	parked    *prometheus.CounterVec // key
	feedPolls *prometheus.CounterVec // status (200, 304, error)

	// scheduler loop
	events      *prometheus.CounterVec // type
	tierItems   *prometheus.GaugeVec   // tier
	tierOverdue *prometheus.GaugeVec   // tier
	tierLag     *prometheus.GaugeVec   // tier
	quotaLeft   *prometheus.GaugeVec   // key
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "api_calls_total", Help: "YouTube Data API calls sent, by method and key fingerprint."}, []string{"op", "key"}),
		units: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "quota_units_total", Help: "Quota units spent, by key fingerprint (local ledger)."}, []string{"key"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "errors_total", Help: "Failed calls, by method and classified reason."}, []string{"op", "reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "retries_total", Help: "Calls sent again after a failure, by method."}, []string{"op"}),
		backoff: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "retry_backoff_seconds_total", Help: "Time calls waited (exponential backoff with jitter, or Retry-After) before being sent again, by method."}, []string{"op"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "records_total", Help: "Records published, by kind (video, channel, tombstone)."}, []string{"kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "api_call_seconds", Help: "Latency of API calls, by method.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}, []string{"op"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "api_calls_in_flight", Help: "API calls currently in flight."}),
		parked: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "keys_parked_total", Help: "Times a key was parked after quotaExceeded, by key fingerprint."}, []string{"key"}),
		feedPolls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "feed_polls_total", Help: "RSS feed polls, by outcome (200, 304, error)."}, []string{"status"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "change_events_total", Help: "Change events emitted on refresh, by type (title_changed, milestone...)."}, []string{"type"}),
		tierItems: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "tier_items", Help: "Items scheduled, by refresh tier."}, []string{"tier"}),
		tierOverdue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "tier_overdue_items", Help: "Items past their due time (beyond one loop tick), by refresh tier."}, []string{"tier"}),
		tierLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "tier_lag_seconds", Help: "Now minus the oldest due time not yet served, by refresh tier."}, []string{"tier"}),
		quotaLeft: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "tubelake", Subsystem: "collect",
			Name: "quota_left_units", Help: "Quota units left today, by key fingerprint (local ledger)."}, []string{"key"}),
	}
	// Several collectors may share one registry: reuse series already there.
	if err := errors.Join(register(reg, &m.calls), register(reg, &m.units), register(reg, &m.errors),
		register(reg, &m.retries), register(reg, &m.backoff), register(reg, &m.records), register(reg, &m.latency),
		register(reg, &m.inflight), register(reg, &m.parked), register(reg, &m.feedPolls),
		register(reg, &m.events), register(reg, &m.tierItems), register(reg, &m.tierOverdue),
		register(reg, &m.tierLag), register(reg, &m.quotaLeft)); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers *c, or replaces it by the identical collector already
// registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c *C) error {
	err := reg.Register(*c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			*c = existing
			return nil
		}
	}
	return err
}
