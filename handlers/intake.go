package handlers

import (
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
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pkgwarden/pkgwarden/internal/webhook"
)

// MaxBodyBytes is GitHub's own cap on a delivery's payload.
const MaxBodyBytes = 25 << 20

// MaxDeliveryIDBytes bounds X-GitHub-Delivery.
const MaxDeliveryIDBytes = 128

// DefaultBodyBudget bounds the bytes of request bodies the intake holds at
// once, over every request in flight (see Intake.WithBodyBudget).
const DefaultBodyBudget = 64 << 20

const (
	// firstBodyChunk is a body's first buffer; it grows by doubling as
	// bytes arrive, never from what Content-Length announces.
	firstBodyChunk = 16 << 10
	// smallBodyBytes: buffers up to this size are pooled, and may use the
	// whole budget; a body growing past it must leave budgetHeadroom of
	// the budget free, so that deliveries of ordinary size keep flowing
	// while a few large or slow bodies hold the rest.
	smallBodyBytes = 64 << 10
	// budgetHeadroom is the divisor of the budget kept for small bodies.
	budgetHeadroom = 8
)

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
	inFlight prometheus.Gauge
}

// NewIntakeMetrics registers the intake's metrics with reg.
func NewIntakeMetrics(reg prometheus.Registerer) *IntakeMetrics {
	m := &IntakeMetrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pkgwarden_webhooks_total",
			Help: "Webhook deliveries received, by event and result.",
		}, []string{"event", "result"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pkgwarden_webhook_body_bytes_in_flight",
			Help: "Bytes of webhook bodies held by requests in flight, out of the intake's body budget.",
		}),
	}
	reg.MustRegister(m.webhooks, m.inFlight)
	return m
}

// bodyBudget is the bytes of bodies every request in flight may hold
// together. Requests take from it in chunks as their bodies arrive and give
// everything back when they end.
type bodyBudget struct {
	limit int64
	used  atomic.Int64
	gauge prometheus.Gauge
}

// take reserves n bytes if that leaves at least keep bytes of the budget
// free.
func (b *bodyBudget) take(n, keep int64) bool {
	for {
		used := b.used.Load()
		if used+n > b.limit-keep {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			b.gauge.Add(float64(n))
			return true
		}
	}
}

// give returns n reserved bytes.
func (b *bodyBudget) give(n int64) {
	if n == 0 {
		return
	}
	b.used.Add(-n)
	b.gauge.Sub(float64(n))
}

// Intake is the POST /webhooks handler.
type Intake struct {
	secret  []byte
	pub     Publisher
	metrics *IntakeMetrics
	log     *slog.Logger
	timeout time.Duration
	budget  *bodyBudget
	bufs    sync.Pool // *[]byte of at most smallBodyBytes
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
		budget:  &bodyBudget{limit: DefaultBodyBudget, gauge: metrics.inFlight},
		bufs:    sync.Pool{New: func() any { return new([]byte) }},
	}
}

// WithBodyBudget sets how many bytes of bodies the requests in flight may
// hold together (0 or less: DefaultBodyBudget), and returns h. A request
// that would go over it is answered 503 and GitHub's delivery is sent again
// later. Call it before h serves.
func (h *Intake) WithBodyBudget(limit int64) *Intake {
	if limit <= 0 {
		limit = DefaultBodyBudget
	}
	h.budget.limit = limit
	return h
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
	pooled := h.bufs.Get().(*[]byte)
	var held int64
	defer func() {
		h.budget.give(held)
		// Keep only ordinary buffers: one 25 MiB delivery must not pin
		// 25 MiB for the life of the process.
		if cap(*pooled) <= smallBodyBytes {
			*pooled = (*pooled)[:0]
			h.bufs.Put(pooled)
		}
	}()
	body, err := h.readBody(w, r, pooled, &held)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, errNoBudget):
			// The connection is not worth keeping: the rest of the body
			// is not read.
			h.log.Debug("webhook body over the intake's budget", "remote", r.RemoteAddr, "content_length", r.ContentLength, "budget", h.budget.limit)
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", "5")
			h.answer(w, event, http.StatusServiceUnavailable, ResultUnavailable)
		case errors.As(err, &tooBig):
			h.answer(w, event, http.StatusRequestEntityTooLarge, ResultTooLarge)
		default:
			h.answer(w, event, http.StatusBadRequest, ResultBadRequest)
		}
		return
	}
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

// errNoBudget reports a body the body budget cannot hold any more of.
var errNoBudget = errors.New("webhook body budget exhausted")

// readBody reads the request's body into *buf, which it grows by doubling
// as bytes arrive, up to Content-Length or MaxBodyBytes, reserving from the
// budget every byte of buffer before using it; *held is what it reserved,
// for the caller to give back. Memory follows what the client sent, never
// what it announced.
func (h *Intake) readBody(w http.ResponseWriter, r *http.Request, buf *[]byte, held *int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	limit := int64(MaxBodyBytes)
	if r.ContentLength >= 0 {
		limit = min(limit, r.ContentLength)
	}
	b := (*buf)[:0]
	// A pooled buffer is memory held too: it is reserved before use.
	if c := int64(cap(b)); c > 0 {
		if !h.budget.take(c, 0) {
			return nil, errNoBudget
		}
		*held = c
	}
	for {
		if int64(len(b)) >= limit || len(b) == cap(b) {
			if int64(len(b)) >= limit {
				// Full at the announced length (or GitHub's cap): the
				// body must end here. A byte more is a body longer than
				// announced; past MaxBodyBytes the reader says so.
				var one [1]byte
				for {
					n, err := body.Read(one[:])
					if n > 0 {
						return nil, errors.New("body longer than its Content-Length")
					}
					if err == io.EOF {
						return b, nil
					}
					if err != nil {
						return nil, err
					}
				}
			}
			size := min(max(2*int64(cap(b)), firstBodyChunk), limit)
			var keep int64
			if size > smallBodyBytes {
				keep = h.budget.limit / budgetHeadroom
			}
			grow := size - int64(cap(b))
			if !h.budget.take(grow, keep) {
				return nil, errNoBudget
			}
			*held += grow
			nb := make([]byte, len(b), size)
			copy(nb, b)
			b = nb
			*buf = b
		}
		// Never past the announced length, whatever room a pooled
		// buffer has: a byte more is checked for above.
		n, err := body.Read(b[len(b):min(int64(cap(b)), limit)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// validSignature checks X-Hub-Signature-256 in constant time. GitHub also
// sends X-Hub-Signature, an HMAC-SHA1, which is never read: a delivery is
// authentic by its SHA-256 signature alone.
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
