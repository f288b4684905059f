package githubapi

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// An OwnerCache shared by clients answers ResolveOwner without asking
// GitHub again until its TTL passes; another token asks again (Self
// depends on the token), and neither failures nor the fallback taken when
// GET /user is unavailable are remembered.
func TestOwnerCache(t *testing.T) {
	var noUser atomic.Bool
	w := newSimWorld(t, withoutUser(&noUser))
	// own is octocat's token, other alice's.
	own, other := w.tokens["octocat"], w.tokens["alice"]
	clock := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cache := NewOwnerCache(time.Hour, func() time.Time { return clock })
	client := func(tok Token) *PackagesClient {
		c, err := NewPackagesClient(tok, PackagesClientOptions{
			BaseURL:   w.url,
			Transport: NewTransport(nil, RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}, nil),
			Owners:    cache,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	asked := func() int {
		return strings.Count(strings.Join(w.requestLog(), "\n")+"\n", "GET /users/")
	}
	steps := []struct {
		name  string
		tok   Token
		login string
		after time.Duration
		self  string // what GET /user answers; "" is a 404
		asks  int    // GET /users/{login} sent by this step
		err   bool
	}{
		{"first lookup asks", own, "acme", 0, "octocat", 1, false},
		{"second client, same token: cached", own, "ACME", time.Minute, "octocat", 0, false},
		{"another token asks", other, "acme", 0, "octocat", 1, false},
		{"past the TTL asks again", own, "acme", time.Hour, "octocat", 1, false},
		{"an unknown owner fails", own, "nobody", 0, "octocat", 1, true},
		{"and is asked again", own, "nobody", 0, "octocat", 1, true},
		{"a user without GET /user: fallback", own, "octocat", 0, "", 1, false},
		{"the fallback is not remembered", own, "octocat", 0, "octocat", 1, false},
		{"the sure answer is", own, "octocat", time.Minute, "octocat", 0, false},
	}
	for _, st := range steps {
		clock = clock.Add(st.after)
		noUser.Store(st.self == "")
		before := asked()
		o, err := client(st.tok).ResolveOwner(ctx, st.login)
		if (err != nil) != st.err {
			t.Fatalf("%s: ResolveOwner(%s) = %+v, %v; want error %t", st.name, st.login, o, err, st.err)
		}
		if n := asked() - before; n != st.asks {
			t.Errorf("%s: %d GET /users/ requests, want %d", st.name, n, st.asks)
		}
		if st.login == "octocat" && !st.err && o.Self != (st.self != "") {
			t.Errorf("%s: Self = %t, want %t", st.name, o.Self, st.self != "")
		}
	}
}
