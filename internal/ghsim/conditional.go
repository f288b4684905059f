package ghsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// conditional answers a GET as h does, with a weak ETag of the body on a
// 200, and 304 Not Modified with no body when If-None-Match names that
// ETag, as GitHub does on its REST GETs (GitHub REST docs, "Best
// practices for using the REST API": conditional requests; a 304 does not
// count against the primary rate limit, which the rate-limit middleware
// sees from the status). The packages endpoints do the same in pkWriteOK.
func conditional(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &bufferedAnswer{w: w, status: http.StatusOK}
		h(rec, r)
		if rec.status != http.StatusOK {
			w.WriteHeader(rec.status)
			_, _ = w.Write(rec.body.Bytes())
			return
		}
		sum := sha256.Sum256(rec.body.Bytes())
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		w.Header().Set("ETag", etag)
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			w.Header().Del("Content-Type")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(rec.body.Bytes())
	}
}

// etagMatches says whether an If-None-Match header names etag, weak or
// strong.
func etagMatches(header, etag string) bool {
	for _, cand := range strings.Split(header, ",") {
		if c := strings.TrimSpace(cand); c != "" && (c == etag || c == strings.TrimPrefix(etag, "W/")) {
			return true
		}
	}
	return false
}

// bufferedAnswer keeps a handler's status and body; its headers go
// straight to the real writer's.
type bufferedAnswer struct {
	w      http.ResponseWriter
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedAnswer) Header() http.Header { return b.w.Header() }

func (b *bufferedAnswer) WriteHeader(status int) {
	if !b.wrote {
		b.status, b.wrote = status, true
	}
}

func (b *bufferedAnswer) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}
