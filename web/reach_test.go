package web

import "testing"

// TestHealthSaysReach: the server status page says how other structures
// reach this node (node.Status.Reach), in the page's language.
func TestHealthSaysReach(t *testing.T) {
	e := newEnv(t)
	c := e.admin()
	e.want(e.get(c, "/health"), 200, "Joignable par les autres structures")
	e.want(e.get(c, "/health"), 200, "par le relais d’un membre (derrière une box)")
}
