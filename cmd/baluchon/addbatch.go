package main

import (
	"fmt"
	"io"

	"baluchon/api"
	"baluchon/node"
	"baluchon/vault"
)

// addFiles stores several files as one batch: one new vault state for
// all of them, all or none.
func addFiles(e *env, cl *api.Client, c *vault.Card, paths []string, meta node.DocMeta) ([]api.DocInfo, error) {
	files := make([]api.BatchFile, len(paths))
	for i, p := range paths {
		files[i] = api.BatchFile{Open: func() (io.ReadCloser, error) {
			f, m, err := openForUpload(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			files[i].Meta.FileName, files[i].Meta.MIME = m.FileName, m.MIME
			return f, nil
		}}
		files[i].Meta = meta
	}
	docs, err := cl.AddBatch(e.ctx, c, files)
	if err != nil {
		return nil, fmt.Errorf("%w; nothing was added", err)
	}
	return docs, nil
}
