package serve

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// openFile opens a store file for reading, never through a symbolic link
// (O_NOFOLLOW: a link in files/ is refused, wherever it points) and never
// waiting on a FIFO (O_NONBLOCK, which regular files ignore); openRegular
// then refuses anything but a regular file. os.Open would also try to
// register the descriptor with the network poller (four fcntl calls and an
// epoll_ctl that fails for regular files); for a small wheel that doubles
// the system calls of a request.
func openFile(name string) (*os.File, error) {
	fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// openServed opens a store file for serveLocal as openFile does, refusing
// anything but a regular file, and returns it with its size. The
// descriptor stays a bare one: os.NewFile would ask for its flags and try
// to register it with the network poller (an fcntl and an epoll_ctl that
// fails for regular files), two of the dozen system calls a small wheel
// costs. net's sendfile takes it as it takes an *os.File.
func openServed(name string) (servedFile, int64, error) {
	fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, &os.PathError{Op: "open", Path: name, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, 0, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return nil, 0, &os.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (mode %#o)", errNotRegular, st.Mode&syscall.S_IFMT)}
	}
	return &rawFile{fd: fd}, st.Size, nil
}

// rawFile is a regular file's bare descriptor: read, seeked, closed, and
// handed to sendfile through SyscallConn. Reads of a regular file never
// block on the poller, so none is involved.
type rawFile struct{ fd int }

func (f *rawFile) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return 0, fmt.Errorf("reading a wheelhouse file: %w", err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *rawFile) Seek(offset int64, whence int) (int64, error) {
	n, err := syscall.Seek(f.fd, offset, whence)
	if err != nil {
		return 0, fmt.Errorf("seeking in a wheelhouse file: %w", err)
	}
	return n, nil
}

func (f *rawFile) Close() error { return syscall.Close(f.fd) }

// SyscallConn lets net's sendfile use the descriptor.
func (f *rawFile) SyscallConn() (syscall.RawConn, error) { return rawFileConn{f.fd}, nil }

// rawFileConn runs sendfile's function on the descriptor once: a regular
// file is always ready.
type rawFileConn struct{ fd int }

func (c rawFileConn) Control(fn func(fd uintptr)) error { fn(uintptr(c.fd)); return nil }
func (c rawFileConn) Read(fn func(fd uintptr) bool) error {
	fn(uintptr(c.fd))
	return nil
}
func (c rawFileConn) Write(fn func(fd uintptr) bool) error {
	fn(uintptr(c.fd))
	return nil
}

// cork holds back partial TCP segments on c until uncorked, so that a
// file's headers and its first bytes (written before sendfile) leave in
// one segment with the rest, as nginx's tcp_nopush does: the client wakes
// once per file instead of twice. It returns the function that uncorks.
func cork(c net.Conn) func() {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return func() {}
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return func() {}
	}
	set := func(v int) {
		raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, v) })
	}
	set(1)
	return func() { set(0) }
}
