//go:build !linux

package main

import (
	"errors"
	"syscall"
)

// becomeSubreaper is Linux-only; elsewhere orphans are reaped only as PID 1.
func becomeSubreaper() error { return errors.New("child subreapers are Linux-only") }

func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
