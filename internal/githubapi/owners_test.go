package githubapi

import (
	"context"
	"strings"
	"testing"
	"time"
)

// An OwnerCache shared by clients answers ResolveOwner without asking
// GitHub again until its TTL passes; another token asks again (Self
// depends on the token), and neither failures nor the fallback taken when
// GET /user is unavailable are remembered.
func TestOwnerCache(t *testing.T) {
	f := newFakeGitHub(t)
	f.owners["octocat"] = [2]string{"octocat", "User"}
	f.owners["acme"] = [2]string{"acme", "Organization"}
	f.self = "octocat"
	clock := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cache := NewOwnerCache(time.Hour, func() time.Time { return clock })
	client := func(tok Token) *PackagesClient {
		c, err := NewPackagesClient(tok, PackagesClientOptions{
			BaseURL:   f.url(),
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
		return strings.Count(strings.Join(f.requestLog(), "\n")+"\n", "GET /users/")
	}
	other := NewToken("acme", "test", "ghp_othersecret")
	steps := []struct {
		name  string
		tok   Token
		login string
		after time.Duration
		self  string // what GET /user answers; "" is a 404
		asks  int    // GET /users/{login} sent by this step
		err   bool
	}{
		{"first lookup asks", testToken, "acme", 0, "octocat", 1, false},
		{"second client, same token: cached", testToken, "ACME", time.Minute, "octocat", 0, false},
		{"another token asks", other, "acme", 0, "octocat", 1, false},
		{"past the TTL asks again", testToken, "acme", time.Hour, "octocat", 1, false},
		{"an unknown owner fails", testToken, "nobody", 0, "octocat", 1, true},
		{"and is asked again", testToken, "nobody", 0, "octocat", 1, true},
		{"a user without GET /user: fallback", testToken, "octocat", 0, "", 1, false},
		{"the fallback is not remembered", testToken, "octocat", 0, "octocat", 1, false},
		{"the sure answer is", testToken, "octocat", time.Minute, "octocat", 0, false},
	}
	for _, st := range steps {
		clock = clock.Add(st.after)
		f.mu.Lock()
		f.self = st.self
		f.mu.Unlock()
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
