package piptest

import (
	"os"
	"slices"
	"testing"
)

func TestEnvDropsMachinePipConfigurationAndProxies(t *testing.T) {
	t.Setenv("PIP_FIND_LINKS", "/opt/wheels")
	t.Setenv("HTTPS_PROXY", "http://proxy.example:3128")
	t.Setenv("PYTHONPATH", "/elsewhere")
	env := Env("/tmp/home")
	for _, bad := range []string{"PIP_FIND_LINKS=/opt/wheels", "HTTPS_PROXY=http://proxy.example:3128", "PYTHONPATH=/elsewhere"} {
		if slices.Contains(env, bad) {
			t.Errorf("%s leaks into pip's environment", bad)
		}
	}
	for _, want := range []string{"HOME=/tmp/home", "PIP_CONFIG_FILE=" + os.DevNull, "PIP_NO_CACHE_DIR=1", "NO_PROXY=*"} {
		if !slices.Contains(env, want) {
			t.Errorf("%s is missing", want)
		}
	}
}
