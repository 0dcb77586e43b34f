// Package procstat reads what the benchmarks report about the process and
// the machine they run on: the process's CPU time (getrusage), its resident
// set from /proc/self/status (current, peak, sampled peak), the load
// average, the CPU model and the memory size. Every reader returns a zero
// value (or "?") where the platform does not provide it, so a benchmark
// still runs off Linux.
package procstat
