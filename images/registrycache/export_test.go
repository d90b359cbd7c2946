package registrycache

// KeptTTL and UploadSettle are keptTTL and uploadSettle, for the tests.
const (
	KeptTTL      = keptTTL
	UploadSettle = uploadSettle
)
