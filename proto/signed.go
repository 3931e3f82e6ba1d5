package proto

import (
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Records signed by a node (member certificates, structure records, vault
// records) are signed with the node's libp2p key over a context string and
// their encoding; the signer's Ed25519 public key is inside its peer id,
// so they verify on their own.

// sign signs context ‖ msg with key.
func sign(key crypto.PrivKey, context string, msg []byte) ([]byte, error) {
	return key.Sign(append([]byte(context), msg...))
}

// verify checks that sig is signer's signature of context ‖ msg.
func verify(signer peer.ID, context string, msg, sig []byte) error {
	pub, err := signer.ExtractPublicKey()
	if err != nil {
		return errors.New("signer's key is not in its peer id")
	}
	if ok, err := pub.Verify(append([]byte(context), msg...), sig); err != nil || !ok {
		return errors.New("signature does not verify")
	}
	return nil
}

// roundTime keeps a time to the nanosecond, in UTC, as encodings hold it.
func roundTime(t time.Time) time.Time { return time.Unix(0, t.UnixNano()).UTC() }
