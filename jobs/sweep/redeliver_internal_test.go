package sweep

import (
	"testing"
	"time"

	"github.com/google/go-github/v57/github"
)

func TestToRedeliver(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	attempt := func(id int64, minute, code int, status string) *github.HookDelivery {
		return &github.HookDelivery{
			ID: github.Int64(id), GUID: github.String("g"), StatusCode: github.Int(code), Status: github.String(status),
			DeliveredAt: &github.Timestamp{Time: at.Add(time.Duration(minute) * time.Minute)},
		}
	}
	cases := map[string]struct {
		attempts []*github.HookDelivery // newest first, as listed
		want     int64                  // 0: nothing to redeliver
	}{
		"one failure":                   {attempts: []*github.HookDelivery{attempt(1, 0, 500, "Invalid HTTP Response: 500")}, want: 1},
		"connection refused":            {attempts: []*github.HookDelivery{attempt(1, 0, 0, "connection refused")}, want: 1},
		"succeeded":                     {attempts: []*github.HookDelivery{attempt(1, 0, 202, "OK")}},
		"failed then succeeded":         {attempts: []*github.HookDelivery{attempt(2, 5, 200, "OK"), attempt(1, 0, 503, "x")}},
		"two failures: the newest":      {attempts: []*github.HookDelivery{attempt(2, 5, 502, "x"), attempt(1, 0, 500, "x")}, want: 2},
		"listed out of order":           {attempts: []*github.HookDelivery{attempt(1, 0, 500, "x"), attempt(2, 5, 502, "x")}, want: 2},
		"still pending":                 {attempts: []*github.HookDelivery{attempt(2, 5, 0, "pending"), attempt(1, 0, 500, "x")}},
		"redirect is not a success":     {attempts: []*github.HookDelivery{attempt(1, 0, 302, "x")}, want: 1},
		"client error is not a success": {attempts: []*github.HookDelivery{attempt(1, 0, 401, "x")}, want: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := toRedeliver(tc.attempts)
			if got.GetID() != tc.want {
				t.Errorf("toRedeliver = attempt %d, want %d", got.GetID(), tc.want)
			}
		})
	}
}
