package web

import (
	"strings"
	"sync"
	"time"
)

// Login attempts: past loginAttempts failures within loginWindow for one
// account or from one address, further attempts are refused until the
// window has passed (as Reconnect: 9 attempts, then wait).
const (
	loginAttempts = 9
	loginWindow   = 2 * time.Minute
)

// limiter counts failed attempts by key.
type limiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

func newLimiter() *limiter { return &limiter{fails: map[string][]time.Time{}} }

func (l *limiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= loginWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = ts
	}
	return ts
}

// blocked reports whether any of keys has had too many failures.
func (l *limiter) blocked(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if len(l.recent(k, now)) >= loginAttempts {
			return true
		}
	}
	return false
}

// fail records a failed attempt for every key.
func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.fails[k] = append(l.recent(k, now), now)
	}
	if len(l.fails) > 10000 { // bound memory: forget the oldest windows
		for k := range l.fails {
			l.recent(k, now)
		}
	}
}

// reset forgets the failures of key (a successful login).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

func accountKey(name string) string { return "account:" + strings.ToLower(name) }
func addrKey(ip string) string      { return "ip:" + ip }
