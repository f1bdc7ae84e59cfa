package iceberg

// FileLocation returns the Iceberg location (an absolute path, or an
// abfss:// URL) of rel, a path relative to the lake such as DataFileRel
// returns: what the table's storage (Iceberg().FS) opens and creates.
func (t *Table) FileLocation(rel string) string { return t.st.location(rel) }
