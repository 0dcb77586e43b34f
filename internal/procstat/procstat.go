package procstat

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Status returns a "kB" line of /proc/self/status (VmRSS, VmHWM, ...) in
// bytes, 0 if absent.
func Status(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return kBLine(string(b), field)
}

// RSS is the process's resident set size in bytes.
func RSS() int64 { return Status("VmRSS") }

// kBLine finds "field: N kB" in text and returns N*1024.
func kBLine(text, field string) int64 {
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}

// LoadAvg is the 1, 5 and 15 minute load averages ("0.85 1.20 1.41"), or "?".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// LoadAvg1 is the 1-minute load average, or "?".
func LoadAvg1() string {
	l, _, _ := strings.Cut(LoadAvg(), " ")
	return l
}

// CPUModel is the model name of the first CPU in /proc/cpuinfo, or "".
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// MemTotal is the machine's memory in bytes (MemTotal of /proc/meminfo), or 0.
func MemTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	return kBLine(string(b), "MemTotal")
}

// Machine is a one-line description of the machine: CPU model, logical
// CPUs, OS/architecture and Go version.
func Machine() string {
	cpu := CPUModel()
	if cpu == "" {
		cpu = "unknown CPU"
	}
	return cpu + ", " + strconv.Itoa(runtime.NumCPU()) + " logical CPUs, " + runtime.GOOS + "/" + runtime.GOARCH + ", " + runtime.Version()
}

// PeakRSS samples the resident set every interval until Stop.
type PeakRSS struct {
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// StartPeakRSS starts sampling the resident set every interval.
func StartPeakRSS(every time.Duration) *PeakRSS {
	s := &PeakRSS{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.Sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Sample records the current resident set now.
func (s *PeakRSS) Sample() {
	if r := RSS(); r > s.peak.Load() {
		s.peak.Store(r)
	}
}

// Peak is the largest resident set seen so far, in bytes.
func (s *PeakRSS) Peak() int64 { return s.peak.Load() }

// Stop ends the sampling (idempotent) and returns the peak in bytes.
func (s *PeakRSS) Stop() int64 {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return s.peak.Load()
}

// GCStats is what the garbage collector has done since the process started.
type GCStats struct {
	Cycles int64         // completed GC cycles
	CPU    time.Duration // CPU spent in GC (mark assists, background marking, pauses)
}

// GC reads the Go runtime's GC counters (runtime/metrics); subtract two
// readings to get what a stretch of work cost.
func GC() GCStats {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	var g GCStats
	if s[0].Value.Kind() == metrics.KindUint64 {
		g.Cycles = int64(s[0].Value.Uint64())
	}
	if s[1].Value.Kind() == metrics.KindFloat64 {
		g.CPU = time.Duration(s[1].Value.Float64() * float64(time.Second))
	}
	return g
}

// Sub returns g - o.
func (g GCStats) Sub(o GCStats) GCStats {
	return GCStats{Cycles: g.Cycles - o.Cycles, CPU: g.CPU - o.CPU}
}
