package session

// SignForTest returns the cookie value m gives id.
func SignForTest(m *Manager, id string) string { return m.signer.sign(id) }

// MaxDepthForTest is the deepest nesting the payload codec reads or writes.
const MaxDepthForTest = maxDepth
