package ghsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// enqueueWebhook records a delivery of event to the app's webhook URL and
// hands it to the sender; GitHub delivers asynchronously, and so does the
// simulator, in order. It must be called with s.mu held. Without a webhook
// URL nothing is recorded, as an app without a hook URL gets no deliveries.
func (s *world) enqueueWebhook(event, action string, payload map[string]any) {
	if s.opts.WebhookURL == "" {
		return
	}
	if action != "" {
		payload["action"] = action
	}
	body, err := json.Marshal(payload)
	if err != nil {
		s.log.Error("ghsim: encode webhook", "event", event, "err", err)
		return
	}
	d := &Delivery{
		ID:          s.st.id(),
		GUID:        newGUID(),
		Event:       event,
		Action:      action,
		DeliveredAt: s.clock.now(),
		Status:      "pending",
		Payload:     body,
	}
	s.st.deliveries = append(s.st.deliveries, d)
	s.startSender()
	s.pendingN++
	s.outbox <- outgoing{delivery: d, url: s.opts.WebhookURL}
}

type outgoing struct {
	delivery *Delivery
	url      string
}

// startSender starts the goroutine that sends deliveries, once.
// Called with s.mu held.
func (s *world) startSender() {
	if s.outbox != nil {
		return
	}
	s.outbox = make(chan outgoing, 4096)
	go s.sendLoop(s.outbox)
}

func (s *world) sendLoop(out chan outgoing) {
	for o := range out {
		status, err := s.post(o)
		s.mu.Lock()
		o.delivery.StatusCode = status
		switch {
		case err != nil:
			o.delivery.Status = err.Error()
		case status >= 200 && status < 300:
			o.delivery.Status = "OK"
		default:
			o.delivery.Status = fmt.Sprintf("Invalid HTTP Response: %d", status)
		}
		s.pendingN--
		s.mu.Unlock()
	}
}

func (s *world) post(o outgoing) (int, error) {
	d := o.delivery
	req, err := http.NewRequest(http.MethodPost, o.url, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/ghsim")
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.GUID)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	req.Header.Set("X-Hub-Signature-256", Sign(s.opts.WebhookSecret, d.Payload))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("deliver %s %s: %w", d.Event, d.GUID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// WaitDeliveries blocks until every webhook enqueued so far was attempted.
func (s *world) WaitDeliveries(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		n := s.pendingN
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("ghsim: %d webhook deliveries still pending: %w", n, ctx.Err())
		}
	}
}

// Deliveries returns a copy of the delivery log, oldest first.
func (s *world) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.st.deliveries))
	for i, d := range s.st.deliveries {
		out[i] = *d
	}
	return out
}

// Sign returns the X-Hub-Signature-256 value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// newGUID makes a delivery id shaped like GitHub's (a UUID).
func newGUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
