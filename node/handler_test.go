package node

import (
	"testing"

	"baluchon/proto"
)

// TestProtocolCallbacksUnexported: Node's exported methods are domain
// operations; the answers to the protocols go through protoHandler only.
func TestProtocolCallbacksUnexported(t *testing.T) {
	var n any = (*Node)(nil)
	if _, ok := n.(proto.Admitter); ok {
		t.Error("*Node has an exported Admit")
	}
	if _, ok := n.(proto.Handler); ok {
		t.Error("*Node implements proto.Handler")
	}
	if _, ok := n.(proto.FederationHandler); ok {
		t.Error("*Node implements proto.FederationHandler")
	}
	if _, ok := n.(proto.BlockHandler); ok {
		t.Error("*Node implements proto.BlockHandler")
	}
}
