package ghsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The app's webhook delivery log over REST (GET /app/hook/deliveries and
// redelivery), which pkgwarden's sweep reads to redeliver what failed.

func (s *appAPI) registerHookDeliveryRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /app/hook/deliveries", s.appOnly(s.handleListDeliveries))
	mux.HandleFunc("POST /app/hook/deliveries/{id}/attempts", s.appOnly(s.handleRedeliver))
}

// handleListDeliveries lists deliveries newest first with GitHub's cursor
// pagination: the cursor is the id below which the next page starts.
func (s *appAPI) handleListDeliveries(w http.ResponseWriter, r *http.Request) {
	_, perPage := appPaging(r)
	var below int64
	if c := r.URL.Query().Get("cursor"); c != "" {
		v, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			writeValidationFailed(w, "HookDelivery", "cursor", "invalid", "")
			return
		}
		below = v
	}
	var page []*Delivery
	more := false
	for i := len(s.st.deliveries) - 1; i >= 0; i-- {
		d := s.st.deliveries[i]
		if d.Hook.TargetType != "integration" {
			continue // a repository's or an organization's hook
		}
		if below != 0 && d.ID >= below {
			continue
		}
		if len(page) == perPage {
			more = true
			break
		}
		page = append(page, d)
	}
	out := make([]deliveryView, 0, len(page))
	for _, d := range page {
		out = append(out, newDeliveryView(d))
	}
	if more {
		q := r.URL.Query()
		q.Set("cursor", strconv.FormatInt(page[len(page)-1].ID, 10))
		q.Set("per_page", strconv.Itoa(perPage))
		w.Header().Set("Link", fmt.Sprintf(`<%sapp/hook/deliveries?%s>; rel="next"`, s.opts.APIURL, q.Encode()))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *appAPI) deliveryByPath(r *http.Request) *Delivery {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil
	}
	for _, d := range s.st.deliveries {
		if d.ID == id && d.Hook.TargetType == "integration" {
			return d
		}
	}
	return nil
}

// handleRedeliver sends a delivery again with the same guid, as GitHub's
// redelivery does, and logs it as a redelivery.
func (s *appAPI) handleRedeliver(w http.ResponseWriter, r *http.Request) {
	d := s.deliveryByPath(r)
	if d == nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	h, ok := s.appHook()
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "The app has no webhook URL")
		return
	}
	again := &Delivery{
		ID:          s.st.id(),
		GUID:        d.GUID,
		Event:       d.Event,
		Action:      d.Action,
		DeliveredAt: s.clock.now(),
		Status:      "pending",
		Redelivery:  true,
		Payload:     d.Payload,
		Hook:        h,
	}
	s.st.deliveries = append(s.st.deliveries, again)
	s.send(again)
	writeJSON(w, http.StatusAccepted, map[string]any{})
}

// deliveryView is a delivery as GET /app/hook/deliveries lists it; the
// installation and repository ids come from the payload. Fields are in the
// order of their JSON names.
type deliveryView struct {
	Action         *string   `json:"action"`
	DeliveredAt    time.Time `json:"delivered_at"`
	Duration       float64   `json:"duration"`
	Event          string    `json:"event"`
	GUID           string    `json:"guid"`
	ID             int64     `json:"id"`
	InstallationID *int64    `json:"installation_id"`
	Redelivery     bool      `json:"redelivery"`
	RepositoryID   *int64    `json:"repository_id"`
	Status         string    `json:"status"`
	StatusCode     int       `json:"status_code"`
	ThrottledAt    *string   `json:"throttled_at"`
}

func newDeliveryView(d *Delivery) deliveryView {
	var p struct {
		Installation *struct {
			ID int64 `json:"id"`
		} `json:"installation"`
		Repository *struct {
			ID int64 `json:"id"`
		} `json:"repository"`
	}
	_ = json.Unmarshal(d.Payload, &p) // the simulator wrote it; ids are optional
	v := deliveryView{
		DeliveredAt: d.DeliveredAt, Event: d.Event, GUID: d.GUID, ID: d.ID,
		Redelivery: d.Redelivery, Status: d.Status, StatusCode: d.StatusCode,
	}
	if p.Installation != nil {
		v.InstallationID = &p.Installation.ID
	}
	if p.Repository != nil {
		v.RepositoryID = &p.Repository.ID
	}
	if d.Action != "" {
		action := d.Action
		v.Action = &action
	}
	return v
}
