package serve

import (
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
