package images

import (
	"testing"

	"github.com/larder-build/larder/internal/testenv"
)

// TestMain keeps every temporary file of the run, the larder-index
// binaries built once per process included, in one folder that goes
// with the run.
func TestMain(m *testing.M) { testenv.Main(m) }
