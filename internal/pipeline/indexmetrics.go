package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tubelake/tubelake/internal/index"
)

// indexCollector exports the index's Stats as gauges and counters, read
// once per scrape (Stats re-measures the memory figures at most every 10 s).
type indexCollector struct {
	ix    *index.Index
	descs map[string]*prometheus.Desc
	holds *prometheus.Desc
}

// indexMetrics are the index's exported figures: name, help, counter.
var indexMetrics = []struct {
	name, help string
	counter    bool
	value      func(st *index.Stats) float64
}{
	{"tubelake_index_docs", "Searchable videos.", false, func(st *index.Stats) float64 { return float64(st.Docs) }},
	{"tubelake_index_deleted_docs", "Tombstoned videos still holding a slot.", false, func(st *index.Stats) float64 { return float64(st.Deleted) }},
	{"tubelake_index_grams", "Posting lists (distinct field and gram).", false, func(st *index.Stats) float64 { return float64(st.Grams) }},
	{"tubelake_index_heap_bytes", "Estimated heap held by the index.", false, func(st *index.Stats) float64 { return float64(st.MemBytes) }},
	{"tubelake_index_mapped_bytes", "Posting bytes read from the snapshot files' memory maps (page cache).", false, func(st *index.Stats) float64 { return float64(st.MappedBytes) }},
	{"tubelake_index_text_mapped_bytes", "Text bytes read from the index's spill file's memory map (page cache).", false, func(st *index.Stats) float64 { return float64(st.TextMappedBytes) }},
	{"tubelake_index_snapshot_bytes", "The full snapshot and its deltas on disk.", false, func(st *index.Stats) float64 { return float64(st.SnapBytes) }},
	{"tubelake_index_deltas", "Snapshot deltas on top of the full snapshot.", false, func(st *index.Stats) float64 { return float64(st.Deltas) }},
	{"tubelake_index_checkpoint", "Stream sequence of the last flush.", false, func(st *index.Stats) float64 { return float64(st.Checkpoint) }},
	{"tubelake_index_applied_records_total", "Records that changed the index.", true, func(st *index.Stats) float64 { return float64(st.Applied) }},
	{"tubelake_index_in_place_refreshes_total", "Statistics refreshes applied under the read lock.", true, func(st *index.Stats) float64 { return float64(st.InPlace) }},
	{"tubelake_index_stale_records_total", "Records ignored as older than the stored state.", true, func(st *index.Stats) float64 { return float64(st.Stale) }},
	{"tubelake_index_rejected_records_total", "Invalid records skipped.", true, func(st *index.Stats) float64 { return float64(st.Rejected) }},
}

func newIndexCollector(ix *index.Index) *indexCollector {
	c := &indexCollector{ix: ix, descs: map[string]*prometheus.Desc{},
		holds: prometheus.NewDesc("tubelake_index_write_lock_hold_seconds", "How long each hold of the index's write lock lasted (Apply chunks, compaction steps, rank swaps, flush cuts): searches issued during a hold wait for it.", nil, nil)}
	for _, m := range indexMetrics {
		c.descs[m.name] = prometheus.NewDesc(m.name, m.help, nil, nil)
	}
	return c
}

func (c *indexCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	ch <- c.holds
}

func (c *indexCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.ix.Stats()
	for _, m := range indexMetrics {
		t := prometheus.GaugeValue
		if m.counter {
			t = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(c.descs[m.name], t, m.value(&st))
	}
	h := st.WriteHolds
	cum := make(map[float64]uint64, len(h.Buckets))
	var n uint64
	for b, k := range h.Buckets[:max(0, len(h.Buckets)-1)] { // the last bucket is +Inf: the count
		n += k
		cum[index.UpperSeconds(b)] = n
	}
	ch <- prometheus.MustNewConstHistogram(c.holds, h.Count, h.Seconds, cum)
}
