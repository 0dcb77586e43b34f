//go:build unix

package procstat

import (
	"syscall"
	"time"
)

// CPU is the user+system CPU time this process used so far.
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MajorFaults is the number of page faults this process took that had to
// read from disk (a memory-mapped page evicted from the page cache).
func MajorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Majflt
}
