package wheelhouse

// ValidProjectDir reports whether a project name can be the folder of its
// pages in a static simple index: what WriteStatic and StaticPages accept.
func ValidProjectDir(name string) bool { return validProjectDir(name) }
