//go:build !linux

package serve

import (
	"net"
	"os"
)

// openFile opens a store file for reading.
func openFile(name string) (*os.File, error) { return os.Open(name) }

// cork does nothing where TCP_CORK does not exist.
func cork(net.Conn) func() { return func() {} }
