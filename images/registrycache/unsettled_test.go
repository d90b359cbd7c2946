package registrycache

import (
	"testing"
	"time"

	"github.com/larder-build/larder/wheelhouse"
)

// TestAnUploadIsUnsettledOnlyWhileItsTimeIsNearNow: an upload's tag is
// read again at every list while its upload time is within
// uploadUnsettled of this clock, behind it or ahead of it.
func TestAnUploadIsUnsettledOnlyWhileItsTimeIsNearNow(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		tag  string
		at   time.Time
		want bool
	}{
		{"an upload a minute old", "upload-x", now.Add(-time.Minute), true},
		{"an upload an hour old", "upload-x", now.Add(-time.Hour), false},
		{"an upload a minute ahead of this clock", "upload-x", now.Add(time.Minute), true},
		{"an upload a year ahead of this clock", "upload-x", now.Add(365 * 24 * time.Hour), false},
		{"an upload without a time", "upload-x", time.Time{}, false},
		{"a lock's wheelhouse", "sha256-x", now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unsettled(tt.tag, []wheelhouse.Entry{{UploadTime: tt.at}}); got != tt.want {
				t.Errorf("unsettled = %v, want %v", got, tt.want)
			}
		})
	}
}
