package node

import (
	"context"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"baluchon/vault"
)

// Guardians returns the structures that hold a recovery share of the
// current state of v (the "your papers" sheet lists them: they can help
// the person if the card is lost), sorted.
func (n *Node) Guardians(ctx context.Context, v vault.VaultID) ([]peer.ID, error) {
	defer n.opHold()()
	_, roots, err := n.publicState(ctx, v)
	if err != nil {
		return nil, err
	}
	var out []peer.ID
	for _, rl := range roots {
		for p := range rl.shares {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
