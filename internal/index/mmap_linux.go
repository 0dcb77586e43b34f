package index

import "syscall"

const mapPopulate = syscall.MAP_POPULATE

func dontNeed(b []byte) { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) }
