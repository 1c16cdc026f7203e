package session

// SignForTest returns the cookie value m gives id.
func SignForTest(m *Manager, id string) string { return m.signer.sign(id) }
