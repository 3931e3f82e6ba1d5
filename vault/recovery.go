package vault

import (
	"errors"
	"fmt"

	"filippo.io/age"
	"github.com/hashicorp/vault/shamir"
)

// MaxShareSize bounds a sealed recovery share.
const MaxShareSize = 16 << 10

// Share is one recovery guardian's part of a vault's keys: a Shamir share
// (hashicorp/vault's GF(256) implementation) of the envelope plaintext.
// Fewer than Threshold shares reveal nothing of the keys. Each share is
// sealed to its guardian structure's recipient.
type Share struct {
	Vault     VaultID
	Guardian  string // peer id of the guardian structure's node
	Threshold int
	Total     int
	Data      []byte
}

type shareJSON struct {
	V         int    `json:"v"`
	Vault     string `json:"vault"`
	Guardian  string `json:"guardian"`
	Threshold int    `json:"threshold"`
	Total     int    `json:"total"`
	Data      []byte `json:"data"`
}

// SplitKeys splits the vault keys into one share per guardian, any
// threshold of which rebuild them.
func (k *Keys) SplitKeys(guardians []string, threshold int) ([]*Share, error) {
	n := len(guardians)
	if threshold < 2 || threshold > n || n > 255 {
		return nil, fmt.Errorf("recovery needs 2 ≤ threshold ≤ guardians ≤ 255 (got %d of %d)", threshold, n)
	}
	parts, err := shamir.Split(encodeEnvelope(k), n, threshold)
	if err != nil {
		return nil, fmt.Errorf("split vault keys: %w", err)
	}
	out := make([]*Share, n)
	for i, g := range guardians {
		out[i] = &Share{Vault: k.VaultID(), Guardian: g, Threshold: threshold, Total: n, Data: parts[i]}
	}
	return out, nil
}

// Seal encrypts the share to its guardian's recipient.
func (s *Share) Seal(r age.Recipient) ([]byte, error) {
	return sealJSON(shareJSON{V: 1, Vault: s.Vault.String(), Guardian: s.Guardian, Threshold: s.Threshold, Total: s.Total, Data: s.Data}, r)
}

// OpenShare decrypts a share with its guardian structure's identity.
func OpenShare(data []byte, id age.Identity) (*Share, error) {
	var j shareJSON
	if err := openJSON("recovery share", data, MaxShareSize, &j, id); err != nil {
		return nil, err
	}
	v, err := ParseVaultID(j.Vault)
	if err != nil || j.V != 1 || j.Threshold < 2 || j.Threshold > j.Total || j.Total > 255 || len(j.Data) < 2 {
		return nil, errors.New("open recovery share: malformed")
	}
	return &Share{Vault: v, Guardian: j.Guardian, Threshold: j.Threshold, Total: j.Total, Data: j.Data}, nil
}

// ErrNotEnoughShares says that fewer shares than the threshold were given.
var ErrNotEnoughShares = errors.New("not enough guardians approved the recovery")

// CombineShares rebuilds the vault keys from at least threshold distinct
// shares of one vault.
func CombineShares(shares []*Share) (*Keys, error) {
	if len(shares) == 0 {
		return nil, ErrNotEnoughShares
	}
	first := shares[0]
	seen := map[string]bool{}
	var parts [][]byte
	for _, s := range shares {
		if s.Vault != first.Vault || s.Threshold != first.Threshold {
			return nil, errors.New("shares of different vaults or recoveries")
		}
		if seen[s.Guardian] || len(s.Data) < 2 {
			continue
		}
		seen[s.Guardian] = true
		parts = append(parts, s.Data)
	}
	if len(parts) < first.Threshold {
		return nil, fmt.Errorf("%w: %d of the %d needed", ErrNotEnoughShares, len(parts), first.Threshold)
	}
	secret, err := shamir.Combine(parts)
	if err != nil {
		return nil, fmt.Errorf("combine shares: %w", err)
	}
	k, err := decodeEnvelope(secret)
	if err != nil {
		return nil, errors.New("the shares do not rebuild the vault keys (a share is damaged or of another recovery)")
	}
	if k.VaultID() != first.Vault {
		return nil, errors.New("the shares rebuild the keys of another vault")
	}
	return k, nil
}
