package ghsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// HookTarget is where a delivery goes, as GitHub's headers name it: the
// app's webhook (TargetType "integration", TargetID the app's id) or a
// repository's or an organization's webhook (TargetType "repository" or
// "organization", TargetID its id).
type HookTarget struct {
	ID         int64  `json:"id"`
	TargetType string `json:"target_type"`
	TargetID   int64  `json:"target_id"`
	URL        string `json:"url"`
	secret     string
}

// appHookID is the id of the app's webhook (X-GitHub-Hook-ID).
const appHookID = 1

// hookshotVersion is the short commit GitHub's sender names in its
// User-Agent ("GitHub-Hookshot/<hex>"); any hex will do.
const hookshotVersion = "5ffa1f3"

// appHook is the app's webhook, or ok false without a webhook URL.
// Called with s.mu held.
func (s *world) appHook() (HookTarget, bool) {
	if s.opts.WebhookURL == "" {
		return HookTarget{}, false
	}
	return HookTarget{ID: appHookID, TargetType: "integration", TargetID: s.opts.AppID,
		URL: s.opts.WebhookURL, secret: s.opts.WebhookSecret}, true
}

// enqueueWebhook records a delivery of event to the app's webhook URL and
// hands it to the sender; GitHub delivers asynchronously, and so does the
// simulator, in order. It must be called with s.mu held. Without a webhook
// URL nothing is recorded, as an app without a hook URL gets no deliveries.
func (s *world) enqueueWebhook(event, action string, payload map[string]any) {
	if h, ok := s.appHook(); ok {
		s.enqueueDelivery(h, event, action, payload)
	}
}

// enqueueDelivery records a delivery of event to h and hands it to the
// sender. Called with s.mu held.
func (s *world) enqueueDelivery(h HookTarget, event, action string, payload map[string]any) {
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
		Hook:        h,
	}
	s.st.deliveries = append(s.st.deliveries, d)
	s.send(d)
}

// send hands d to the sender. Called with s.mu held.
func (s *world) send(d *Delivery) {
	s.startSender()
	s.pendingN++
	s.outbox <- outgoing{delivery: d}
}

type outgoing struct {
	delivery *Delivery
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

// post sends a delivery with GitHub's headers (docs "Webhook events and
// payloads", "Delivery headers"): the event, the delivery's GUID, the hook
// and its target, both signatures (X-Hub-Signature, HMAC-SHA1, which
// GitHub still sends for compatibility, and X-Hub-Signature-256) and
// Hookshot's User-Agent.
func (s *world) post(o outgoing) (int, error) {
	d := o.delivery
	req, err := http.NewRequest(http.MethodPost, d.Hook.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/"+hookshotVersion)
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.GUID)
	req.Header.Set("X-GitHub-Hook-ID", strconv.FormatInt(d.Hook.ID, 10))
	req.Header.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(d.Hook.TargetID, 10))
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", d.Hook.TargetType)
	req.Header.Set("X-Hub-Signature", SignSHA1(d.Hook.secret, d.Payload))
	req.Header.Set("X-Hub-Signature-256", Sign(d.Hook.secret, d.Payload))
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

// SignSHA1 returns the X-Hub-Signature value of body under secret: the
// HMAC-SHA1 GitHub still sends next to X-Hub-Signature-256. Receivers
// should not rely on it; pkgwarden does not read it.
func SignSHA1(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// newGUID makes a delivery id shaped like GitHub's (a UUID).
func newGUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
