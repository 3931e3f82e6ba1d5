package api

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"baluchon/node"
)

// TestGetManyRoute: several documents come through one call, byte for
// byte and in the order asked, every document when none is named, and an
// unknown one is the no-document error before anything is sent.
func TestGetManyRoute(t *testing.T) {
	f := newFake(t, 11)
	c := client(t, f)
	ctx := t.Context()
	if _, err := c.CreateVault(ctx, nil, 0); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	var ids []string
	for i := range 3 {
		content := bytes.Repeat([]byte{byte('a' + i)}, 100_000*(i+1))
		d, err := c.Add(ctx, f.card, bytes.NewReader(content), int64(len(content)), node.DocMeta{Title: fmt.Sprintf("doc %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		want[d.ID] = content
		ids = append(ids, d.ID)
	}
	read := func(ask []string) ([]string, error) {
		var got []string
		err := c.GetMany(ctx, f.card, ask, func(info DocInfo, r io.Reader) error {
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			if !bytes.Equal(b, want[info.ID]) || info.Size != int64(len(b)) {
				return fmt.Errorf("document %s: %d bytes (%d announced), want %d", info.ID, len(b), info.Size, len(want[info.ID]))
			}
			got = append(got, info.ID)
			return nil
		})
		return got, err
	}
	ask := []string{ids[2], ids[0]}
	got, err := read(ask)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(ask) {
		t.Fatalf("GetMany(%v) gave %v, %v", ask, got, err)
	}
	if got, err := read(nil); err != nil || len(got) != 3 {
		t.Fatalf("GetMany of every document gave %v, %v", got, err)
	}
	if _, err := read([]string{ids[0], "nope"}); !isCode(err, CodeNoDocument) {
		t.Fatalf("GetMany with a missing document: %v", err)
	}
}
