//go:build linux

package layers

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing n bytes of f from off to
// disk, without waiting for them (sync_file_range with
// SYNC_FILE_RANGE_WRITE): the fsync that follows then finds most of a
// blob on its way. A hint; its errors are the fsync's to report.
func startWriteback(f *os.File, off, n int64) {
	unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
