package registrycache

// KeptTTL, UploadSettle and TagCheckEvery are keptTTL, uploadSettle
// and tagCheckEvery, for the tests.
const (
	KeptTTL       = keptTTL
	UploadSettle  = uploadSettle
	TagCheckEvery = tagCheckEvery
)
