package handlers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/internal/webhook"
)

// MaxBodyBytes is GitHub's own cap on a delivery's payload.
const MaxBodyBytes = 25 << 20

// MaxDeliveryIDBytes bounds X-GitHub-Delivery.
const MaxDeliveryIDBytes = 128

// Results counted in pkgwarden_webhooks_total.
const (
	ResultAccepted     = "accepted"
	ResultDuplicate    = "duplicate"
	ResultBadSignature = "bad_signature"
	ResultBadRequest   = "bad_request"
	ResultTooLarge     = "too_large"
	ResultUnsupported  = "unsupported"
	ResultUnavailable  = "unavailable"
)

// Publisher stores a verified delivery durably; it returns only once the
// delivery is safe, and reports a delivery id it already holds.
type Publisher interface {
	PublishDelivery(ctx context.Context, event, deliveryID string, body []byte) (duplicate bool, err error)
}

// IntakeMetrics are the intake's Prometheus metrics.
type IntakeMetrics struct {
	webhooks *prometheus.CounterVec
}

// NewIntakeMetrics registers the intake's metrics with reg.
func NewIntakeMetrics(reg prometheus.Registerer) *IntakeMetrics {
	m := &IntakeMetrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pkgwarden_webhooks_total",
			Help: "Webhook deliveries received, by event and result.",
		}, []string{"event", "result"}),
	}
	reg.MustRegister(m.webhooks)
	return m
}

// Intake is the POST /webhooks handler.
type Intake struct {
	secret  []byte
	pub     Publisher
	metrics *IntakeMetrics
	log     *slog.Logger
	timeout time.Duration
	bufs    sync.Pool
}

// NewIntake verifies deliveries with secret and publishes them with pub.
// An empty secret rejects every delivery: unsigned webhooks are never taken.
// A nil metrics or logger stands for one that goes nowhere.
func NewIntake(secret string, pub Publisher, metrics *IntakeMetrics, logger *slog.Logger) *Intake {
	if metrics == nil {
		metrics = NewIntakeMetrics(prometheus.NewRegistry())
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Intake{
		secret:  []byte(secret),
		pub:     pub,
		metrics: metrics,
		log:     logger,
		timeout: 10 * time.Second,
		bufs:    sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
}

// eventLabel bounds the event label to names pkgwarden knows, so that
// unverified headers cannot grow the metric without limit.
func eventLabel(event string) string {
	if event == webhook.EventPing || webhook.Handled(event) {
		return event
	}
	return "other"
}

func (h *Intake) answer(w http.ResponseWriter, event string, status int, result string) {
	h.metrics.webhooks.WithLabelValues(eventLabel(event), result).Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, result+"\n")
}

// ServeHTTP reads, verifies, checks the body is JSON and publishes; the
// rest (decoding, deduplication over days, routing) happens off this path.
func (h *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	event := r.Header.Get("X-GitHub-Event")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.answer(w, event, http.StatusMethodNotAllowed, ResultBadRequest)
		return
	}
	if r.ContentLength > MaxBodyBytes {
		h.answer(w, event, http.StatusRequestEntityTooLarge, ResultTooLarge)
		return
	}
	buf := h.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		// Keep only ordinary buffers: one 25 MiB delivery must not pin
		// 25 MiB for the life of the process.
		if buf.Cap() <= 1<<20 {
			h.bufs.Put(buf)
		}
	}()
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.answer(w, event, http.StatusRequestEntityTooLarge, ResultTooLarge)
			return
		}
		h.answer(w, event, http.StatusBadRequest, ResultBadRequest)
		return
	}
	body := buf.Bytes()
	if !h.validSignature(r.Header.Get("X-Hub-Signature-256"), body) {
		h.answer(w, event, http.StatusUnauthorized, ResultBadSignature)
		return
	}
	delivery := r.Header.Get("X-GitHub-Delivery")
	// GitHub's delivery ids are GUIDs; the bound keeps the stream's
	// duplicate table small whatever a sender puts there.
	if event == "" || delivery == "" || len(delivery) > MaxDeliveryIDBytes || !webhook.ValidJSON(body) {
		h.answer(w, event, http.StatusBadRequest, ResultBadRequest)
		return
	}
	if event == webhook.EventPing {
		h.answer(w, event, http.StatusOK, ResultAccepted)
		return
	}
	if !webhook.Handled(event) {
		h.answer(w, event, http.StatusAccepted, ResultUnsupported)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	dup, err := h.pub.PublishDelivery(ctx, event, delivery, body)
	switch {
	case err != nil:
		h.log.Warn("webhook not queued", "delivery", delivery, "event", event, "err", err)
		w.Header().Set("Retry-After", "5")
		h.answer(w, event, http.StatusServiceUnavailable, ResultUnavailable)
	case dup:
		h.answer(w, event, http.StatusOK, ResultDuplicate)
	default:
		h.answer(w, event, http.StatusAccepted, ResultAccepted)
	}
}

// validSignature checks X-Hub-Signature-256 in constant time.
func (h *Intake) validSignature(header string, body []byte) bool {
	if len(h.secret) == 0 {
		return false
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return false
	}
	var got [sha256.Size]byte
	if _, err := hex.Decode(got[:], []byte(hexSig)); err != nil {
		return false
	}
	return hmac.Equal(got[:], Sign(h.secret, body))
}

// Sign returns HMAC-SHA256(secret, body), the digest GitHub sends as
// "sha256=<hex>" in X-Hub-Signature-256.
func Sign(secret, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return mac.Sum(nil)
}

// SignatureHeader is the X-Hub-Signature-256 value for body, for senders
// (the simulator, tests, the benchmark).
func SignatureHeader(secret, body []byte) string {
	return "sha256=" + hex.EncodeToString(Sign(secret, body))
}
