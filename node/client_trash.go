package node

import (
	"context"
	"net/http"
	"net/url"

	"baluchon/vault"
)

// Remove deletes document id of the vault of card: it goes to the trash.
func (c *Client) Remove(ctx context.Context, card *vault.Card, id string) error {
	var out struct{}
	return c.json(ctx, http.MethodDelete, "/v1/docs/"+url.PathEscape(id), card, nil, &out)
}

// Trash lists the deleted documents that can still be restored.
func (c *Client) Trash(ctx context.Context, card *vault.Card) ([]TrashInfo, error) {
	var out []TrashInfo
	err := c.json(ctx, http.MethodGet, "/v1/trash", card, nil, &out)
	return out, err
}

// Restore brings back deleted document id, under a new id.
func (c *Client) Restore(ctx context.Context, card *vault.Card, id string) (*DocInfo, error) {
	var out DocInfo
	if err := c.json(ctx, http.MethodPost, "/v1/trash/"+url.PathEscape(id)+"/restore", card, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
