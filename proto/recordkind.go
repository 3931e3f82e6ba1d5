package proto

// RecordKind returns the kind of an encoded record without decoding it or
// checking its signature, so that a node can pick the records of one kind
// from its own store (which holds only records it checked) before it
// parses them; ok is false when b is not a record.
func RecordKind(b []byte) (kind byte, ok bool) {
	if len(b) <= len(recordMagic) || string(b[:len(recordMagic)]) != recordMagic {
		return 0, false
	}
	return b[len(recordMagic)], true
}
