// Package bytesize writes sizes as people read download sizes. Both the
// larder command and the index server (larder-index) show sizes, so it
// holds one formatter for both and links nothing outside the standard
// library.
package bytesize

import "fmt"

// Format writes n bytes with a decimal unit (B, kB, MB, GB) and one
// decimal, or "?" for a negative size, which stands for an unknown one.
func Format(n int64) string {
	switch {
	case n < 0:
		return "?"
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
