package ghsim_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// delivery is one webhook as a receiver saw it.
type delivery struct {
	header http.Header
	body   []byte
}

// hookRecorder is a real HTTP receiver of the simulator's webhooks that
// keeps every delivery it gets.
type hookRecorder struct {
	url    string
	secret string
	mu     sync.Mutex
	got    []delivery
}

func newHookRecorder(t *testing.T, secret string) *hookRecorder {
	t.Helper()
	h := &hookRecorder{secret: secret}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, delivery{header: r.Header.Clone(), body: b})
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/webhooks"
	return h
}

// deliveries is a copy of what arrived so far.
func (h *hookRecorder) deliveries() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.got...)
}
