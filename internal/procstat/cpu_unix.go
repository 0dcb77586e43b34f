//go:build unix

package procstat

import (
	"syscall"
	"time"
)

// rusage is getrusage for this process (ok false if it failed).
func rusage() (ru syscall.Rusage, ok bool) {
	return ru, syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil
}

// CPU is the user+system CPU time this process used so far.
func CPU() time.Duration {
	ru, ok := rusage()
	if !ok {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MajorFaults is the number of page faults this process took that had to
// read from disk (a memory-mapped page evicted from the page cache).
func MajorFaults() int64 {
	ru, ok := rusage()
	if !ok {
		return 0
	}
	return ru.Majflt
}
