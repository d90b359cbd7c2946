package main

import (
	"os"
	"syscall"
	"unsafe"
)

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER from <linux/prctl.h>.
const prSetChildSubreaper = 36

// becomeSubreaper makes orphaned descendants this process's children, as
// they are PID 1's in a container, so that it reaps them without being PID
// 1 (and tests can check that it does).
func becomeSubreaper() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return errno
	}
	return nil
}

// childAttr puts the child in its own process group, in the terminal's
// foreground when this process holds it, as tini does: keys typed at the
// terminal (^C) reach the child once, and signals sent to this process
// are forwarded once.
func childAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	var fg int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, os.Stdin.Fd(), syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&fg))); errno == 0 && int(fg) == syscall.Getpgrp() {
		attr.Foreground = true
		attr.Ctty = 0
	}
	return attr
}
