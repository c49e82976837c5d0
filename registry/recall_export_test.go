package registry

// SetRecallBatch sets the recall candidates' batch size until the
// returned function restores it.
func SetRecallBatch(n int) (restore func()) {
	old := recallBatch
	recallBatch = n
	return func() { recallBatch = old }
}
