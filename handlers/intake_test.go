package handlers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

// GitHub's documented test vector for X-Hub-Signature-256.
const (
	vectorSecret = "It's a Secret to Everybody"
	vectorBody   = "Hello, World!"
	vectorSig    = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func TestSignatureVector(t *testing.T) {
	if got := SignatureHeader([]byte(vectorSecret), []byte(vectorBody)); got != vectorSig {
		t.Fatalf("SignatureHeader = %s, want %s", got, vectorSig)
	}
	h := NewIntake(vectorSecret, nil, nil, nil)
	tests := map[string]struct {
		header string
		want   bool
	}{
		"vector":         {vectorSig, true},
		"upper-case hex": {"sha256=" + strings.ToUpper(strings.TrimPrefix(vectorSig, "sha256=")), true},
		"sha1 prefix":    {"sha1=" + strings.TrimPrefix(vectorSig, "sha256="), false},
		"truncated":      {vectorSig[:len(vectorSig)-2], false},
		"one bit off":    {vectorSig[:len(vectorSig)-1] + "6", false},
		"not hex":        {"sha256=" + strings.Repeat("zz", 32), false},
		"empty":          {"", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := h.validSignature(tc.header, []byte(vectorBody)); got != tc.want {
				t.Errorf("validSignature(%q) = %t", tc.header, got)
			}
		})
	}
	if NewIntake("", nil, nil, nil).validSignature(SignatureHeader(nil, []byte(vectorBody)), []byte(vectorBody)) {
		t.Error("an empty secret must verify nothing")
	}
}

// sha1Hex is the hex HMAC-SHA1 of body, what GitHub's X-Hub-Signature carries.
func sha1Hex(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func fixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../internal/webhook/testdata/registry_package_published.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type request struct {
	method   string
	event    string
	delivery string
	body     []byte
	sig      string // "" → computed with the right secret; "-" → none
	// sha1 sets X-Hub-Signature, the HMAC-SHA1 GitHub still sends next to
	// X-Hub-Signature-256: "" none, "valid" computed with the right secret.
	sha1   string
	length int64 // forced Content-Length, 0 → len(body)
}

func (rq request) build(secret string) *http.Request {
	method := rq.method
	if method == "" {
		method = http.MethodPost
	}
	r := httptest.NewRequest(method, "/webhooks", bytes.NewReader(rq.body))
	if rq.length != 0 {
		r.ContentLength = rq.length
	}
	if rq.event != "" {
		r.Header.Set("X-GitHub-Event", rq.event)
	}
	if rq.delivery != "" {
		r.Header.Set("X-GitHub-Delivery", rq.delivery)
	}
	switch rq.sig {
	case "":
		r.Header.Set("X-Hub-Signature-256", SignatureHeader([]byte(secret), rq.body))
	case "-":
	default:
		r.Header.Set("X-Hub-Signature-256", rq.sig)
	}
	switch rq.sha1 {
	case "":
	case "valid":
		r.Header.Set("X-Hub-Signature", "sha1="+sha1Hex(secret, rq.body))
	default:
		r.Header.Set("X-Hub-Signature", rq.sha1)
	}
	return r
}

func TestIntake(t *testing.T) {
	const secret = "s3cret"
	ctx := context.Background()
	cfg := queuetest.Config()
	srv := queuetest.Start(t, "", cfg)
	// A second queue whose stream is nearly full, to see the 503 path
	// against a real JetStream refusal.
	fullCfg := cfg
	fullCfg.WebhooksMaxBytes = 1024
	full := queuetest.Start(t, "", fullCfg)

	body := fixture(t)
	big := bytes.Repeat([]byte(" "), MaxBodyBytes+1)
	// Valid JSON of 24 MiB: GitHub caps payloads at 25 MiB, far above
	// NATS's default 1 MiB message limit.
	large := append(append([]byte(`{"action":"published","pad":"`), bytes.Repeat([]byte("x"), 24<<20)...), `"}`...)
	tests := []struct {
		name       string
		req        request
		full       bool
		wantStatus int
		wantResult string
		wantEvent  string
		wantGrowth uint64
	}{
		{name: "accepted", req: request{event: "registry_package", delivery: "d-1", body: body}, wantStatus: 202, wantResult: ResultAccepted, wantEvent: "registry_package", wantGrowth: 1},
		{name: "24 MiB delivery accepted", req: request{event: "registry_package", delivery: "d-large", body: large}, wantStatus: 202, wantResult: ResultAccepted, wantEvent: "registry_package", wantGrowth: 1},
		{name: "duplicate delivery id", req: request{event: "registry_package", delivery: "d-1", body: body}, wantStatus: 200, wantResult: ResultDuplicate, wantEvent: "registry_package"},
		{name: "too large by Content-Length", req: request{event: "registry_package", delivery: "d-2", body: body, length: MaxBodyBytes + 1}, wantStatus: 413, wantResult: ResultTooLarge, wantEvent: "registry_package"},
		{name: "too large streamed", req: request{event: "registry_package", delivery: "d-3", body: big, length: -1}, wantStatus: 413, wantResult: ResultTooLarge, wantEvent: "registry_package"},
		{name: "no signature", req: request{event: "registry_package", delivery: "d-4", body: body, sig: "-"}, wantStatus: 401, wantResult: ResultBadSignature, wantEvent: "registry_package"},
		{name: "wrong secret", req: request{event: "registry_package", delivery: "d-5", body: body, sig: SignatureHeader([]byte("other"), body)}, wantStatus: 401, wantResult: ResultBadSignature, wantEvent: "registry_package"},
		{name: "sha1 signature", req: request{event: "registry_package", delivery: "d-6", body: body, sig: "sha1=" + hex.EncodeToString(make([]byte, 20))}, wantStatus: 401, wantResult: ResultBadSignature, wantEvent: "registry_package"},
		// GitHub signs with SHA-1 too (X-Hub-Signature); only SHA-256 counts.
		{name: "valid sha1, no sha256", req: request{event: "registry_package", delivery: "d-6a", body: body, sig: "-", sha1: "valid"}, wantStatus: 401, wantResult: ResultBadSignature, wantEvent: "registry_package"},
		{name: "valid sha1, wrong sha256", req: request{event: "registry_package", delivery: "d-6b", body: body, sig: SignatureHeader([]byte("other"), body), sha1: "valid"}, wantStatus: 401, wantResult: ResultBadSignature, wantEvent: "registry_package"},
		{name: "valid sha1 in the sha256 header", req: request{event: "registry_package", delivery: "d-6c", body: body, sig: "sha1=" + sha1Hex(secret, body)}, wantStatus: 401, wantResult: ResultBadSignature, wantEvent: "registry_package"},
		{name: "both signatures, as GitHub sends them", req: request{event: "registry_package", delivery: "d-6d", body: body, sha1: "valid"}, wantStatus: 202, wantResult: ResultAccepted, wantEvent: "registry_package", wantGrowth: 1},
		{name: "unknown event with bad signature is labelled other", req: request{event: "x-attacker-chosen", delivery: "d-7", body: body, sig: "-"}, wantStatus: 401, wantResult: ResultBadSignature, wantEvent: "other"},
		{name: "missing event header", req: request{delivery: "d-8", body: body}, wantStatus: 400, wantResult: ResultBadRequest, wantEvent: "other"},
		{name: "missing delivery header", req: request{event: "registry_package", body: body}, wantStatus: 400, wantResult: ResultBadRequest, wantEvent: "registry_package"},
		{name: "delivery id too long", req: request{event: "registry_package", delivery: strings.Repeat("d", MaxDeliveryIDBytes+1), body: body}, wantStatus: 400, wantResult: ResultBadRequest, wantEvent: "registry_package"},
		{name: "signed but not JSON (GitHub's vector)", req: request{event: "registry_package", delivery: "d-9", body: []byte(vectorBody)}, wantStatus: 400, wantResult: ResultBadRequest, wantEvent: "registry_package"},
		{name: "truncated JSON", req: request{event: "registry_package", delivery: "d-10", body: body[:len(body)/2]}, wantStatus: 400, wantResult: ResultBadRequest, wantEvent: "registry_package"},
		{name: "GET", req: request{method: http.MethodGet, event: "registry_package", delivery: "d-11", body: body}, wantStatus: 405, wantResult: ResultBadRequest, wantEvent: "registry_package"},
		{name: "ping", req: request{event: "ping", delivery: "d-12", body: []byte(`{"zen":"Design for failure."}`)}, wantStatus: 200, wantResult: ResultAccepted, wantEvent: "ping"},
		{name: "unsupported event", req: request{event: "star", delivery: "d-13", body: []byte(`{"action":"created"}`)}, wantStatus: 202, wantResult: ResultUnsupported, wantEvent: "other"},
		{name: "stream full", full: true, req: request{event: "registry_package", delivery: "d-14", body: body}, wantStatus: 503, wantResult: ResultUnavailable, wantEvent: "registry_package"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := srv.Queue
			if tc.full {
				q = full.Queue
			}
			metrics := NewIntakeMetrics(prometheus.NewRegistry())
			h := NewIntake(secret, q, metrics, slog.New(slog.DiscardHandler))
			before, err := queue.CountMessages(ctx, q.Webhooks)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tc.req.build(secret))
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), tc.wantStatus)
			}
			if got := testutil.ToFloat64(metrics.webhooks.WithLabelValues(tc.wantEvent, tc.wantResult)); got != 1 {
				t.Errorf("pkgwarden_webhooks_total{event=%q,result=%q} = %v, want 1", tc.wantEvent, tc.wantResult, got)
			}
			if n := testutil.CollectAndCount(metrics.webhooks); n != 1 {
				t.Errorf("%d label sets counted, want exactly 1", n)
			}
			after, err := queue.CountMessages(ctx, q.Webhooks)
			if err != nil {
				t.Fatal(err)
			}
			if after-before != tc.wantGrowth {
				t.Errorf("stream grew by %d, want %d", after-before, tc.wantGrowth)
			}
		})
	}
}

func TestHealthEndpoints(t *testing.T) {
	srv := queuetest.Start(t, "", queuetest.Config())
	reg := prometheus.NewRegistry()
	metrics := NewIntakeMetrics(reg)
	intake := NewIntake("s", srv.Queue, metrics, slog.New(slog.DiscardHandler))
	ts := httptest.NewServer(NewMux(intake, srv.Queue, reg))
	defer ts.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// One delivery so the counter has a sample to show.
	body := []byte(`{"zen":"x"}`)
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/webhooks", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "ping")
	req.Header.Set("X-GitHub-Delivery", "p-1")
	req.Header.Set("X-Hub-Signature-256", SignatureHeader([]byte("s"), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, b := get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d %s", code, b)
	}
	if code, b := get("/metrics"); code != 200 || !strings.Contains(b, `pkgwarden_webhooks_total{event="ping",result="accepted"} 1`) {
		t.Errorf("/metrics = %d\n%s", code, b)
	}
	// The manifest's setup_url: GitHub sends the installer here with the
	// installation in the query, which is shown escaped.
	if code, b := get("/setup?installation_id=42&setup_action=%3Cscript%3Einstall"); code != 200 ||
		!strings.Contains(b, "pkgwarden is installed") || !strings.Contains(b, "Installation 42 (&lt;script&gt;install)") ||
		!strings.Contains(b, ".github/pkgwarden.yml") || strings.Contains(b, "<script>") {
		t.Errorf("/setup = %d\n%s", code, b)
	}
	srv.Stop(t)
	if code, b := get("/readyz"); code != 503 || !strings.Contains(b, "not ready") {
		t.Errorf("/readyz after NATS stopped = %d %s", code, b)
	}
}
