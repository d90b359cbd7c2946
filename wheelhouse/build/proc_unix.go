//go:build unix

package build

import (
	"os/exec"
	"syscall"
)

// killGroup makes ctx cancellation kill pip and every build backend it
// started: killing pip alone would leave compilers holding its output open.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
