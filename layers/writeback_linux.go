//go:build linux && (amd64 || arm64)

package layers

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing n bytes of f from off to
// disk, without waiting for them (sync_file_range with
// SYNC_FILE_RANGE_WRITE): the fsync that follows then finds most of a
// blob on its way. A hint; its errors are the fsync's to report.
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 2
	syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, f.Fd(), uintptr(off), uintptr(n), syncFileRangeWrite, 0, 0)
}
