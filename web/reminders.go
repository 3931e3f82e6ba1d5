package web

import (
	"context"
	"time"
)

// expiringFollowed counts the people this structure follows who have a
// document (one the delegation lets the structure open) that ends before
// the end of this month, or has ended less than a month ago: the
// worker's reminder, "3 people you follow have a document ending this
// month". A file that cannot be listed now is left out.
func (s *Server) expiringFollowed(ctx context.Context) int {
	people, err := s.node.FollowedPeople(ctx, "")
	if err != nil {
		return 0
	}
	now := s.now()
	end := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	since := now.AddDate(0, -1, 0)
	n := 0
	for _, p := range people {
		entries, err := s.node.DelegatedList(ctx, p.Vault)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.Expires.IsZero() && e.Expires.Before(end) && e.Expires.After(since) {
				n++
				break
			}
		}
	}
	return n
}
