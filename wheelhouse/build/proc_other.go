//go:build !unix

package build

import "os/exec"

func killGroup(cmd *exec.Cmd) {}
