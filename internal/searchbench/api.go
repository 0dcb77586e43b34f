package searchbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/tubelake/tubelake/internal/index"
)

// APIReport is the HTTP phase: the same queries through GET
// /v1/videos/search on a loopback server over the same index, from
// concurrent clients.
type APIReport struct {
	Clients    int     `json:"clients"`
	Requests   int     `json:"requests"` // timed (after one warm-up pass per client)
	Seconds    float64 `json:"seconds"`
	PerSec     float64 `json:"requests_per_sec"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	Checked    int     `json:"checked"`    // warm-up answers compared with the oracle
	Mismatches int     `json:"mismatches"` // of those
}

// runAPI serves the index with cfg.Handler on 127.0.0.1 and has
// cfg.APIClients clients each send every query cfg.Reps times (after one
// checked warm-up pass), starting at different offsets of the query list.
// A request's latency runs from sending it to reading the whole body.
func runAPI(ctx context.Context, cfg *Config, ix *index.Index, qs []Query, want []scanResult, rep *Report, pf func(string, ...any)) error {
	h, err := cfg.Handler(ix)
	if err != nil {
		return fmt.Errorf("search bench: api handler: %w", err)
	}
	srv := httptest.NewServer(h) // listens on 127.0.0.1
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * cfg.APIClients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	n := cfg.APIClients
	type clientOut struct {
		lat        map[string][]time.Duration
		checked    int
		mismatches int
		examples   []string
		err        error
	}
	outs := make([]clientOut, n)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range n {
		wg.Go(func() {
			o := &outs[c]
			o.lat = map[string][]time.Duration{}
			for r := 0; r <= cfg.Reps && o.err == nil; r++ {
				for j := range qs {
					i := (j + c*len(qs)/n) % len(qs)
					u := srv.URL + "/v1/videos/search?" + url.Values{"q": {qs[i].Q}, "sort": {"views"}, "limit": {fmt.Sprint(topK)}, "in": {"title"}}.Encode()
					req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
					if err != nil {
						o.err = err
						break
					}
					t := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						o.err = err
						break
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					d := time.Since(t)
					if err != nil {
						o.err = err
						break
					}
					if resp.StatusCode != http.StatusOK {
						o.err = fmt.Errorf("%q: HTTP %d: %.200s", qs[i].Q, resp.StatusCode, body)
						break
					}
					if r > 0 {
						o.lat[qs[i].Kind] = append(o.lat[qs[i].Kind], d)
						continue
					}
					var res index.Result
					if err := json.Unmarshal(body, &res); err != nil {
						o.err = fmt.Errorf("%q: %w", qs[i].Q, err)
						break
					}
					o.checked++
					if msg := compare(res, want[i]); msg != "" {
						o.mismatches++
						o.examples = append(o.examples, fmt.Sprintf("api %s %q: %s", qs[i].Kind, qs[i].Q, msg))
					}
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	a := &APIReport{Clients: n, Seconds: el}
	var all []time.Duration
	for c := range outs {
		o := &outs[c]
		if o.err != nil {
			return fmt.Errorf("search bench: api client %d: %w", c, o.err)
		}
		a.Checked += o.checked
		a.Mismatches += o.mismatches
		for _, e := range o.examples {
			rep.Correctness.addExample(e)
		}
	}
	for i := range rep.Kinds {
		k := &rep.Kinds[i]
		var ds []time.Duration
		for c := range outs {
			ds = append(ds, outs[c].lat[k.Kind]...)
		}
		s := latStats(ds)
		k.APIP50Ms, k.APIP99Ms = s.P50Ms, s.P99Ms
		all = append(all, ds...)
	}
	s := latStats(all)
	a.Requests, a.P50Ms, a.P99Ms = len(all), s.P50Ms, s.P99Ms
	a.PerSec = float64(a.Requests) / el
	rep.API = a
	pf("api: %d clients, %d timed requests (%.0f/s), p50 %.3f ms, p99 %.3f ms; %d of %d answers differ from the oracle",
		n, a.Requests, a.PerSec, a.P50Ms, a.P99Ms, a.Mismatches, a.Checked)
	return nil
}
