package pacing

import (
	"net/http"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// testConfig: 60 points and 6 mutating requests per minute (one point per
// second, one mutating request per 10 s), a burst of 5 points.
func testConfig() Config {
	return Config{Window: time.Minute, Points: 60, Mutating: 6, Burst: 5, MaxMutatingInFlight: 2, LeaseTTL: 30 * time.Second, PollInterval: 50 * time.Millisecond}.WithDefaults()
}

func TestAdmit(t *testing.T) {
	ns := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	tests := map[string]struct {
		st       state
		method   string
		wait     time.Duration
		blocked  blocker
		wantTAT  int64 // when admitted
		holders  int
		wantMTAT int64
	}{
		"fresh GET":               {method: http.MethodGet, wantTAT: ns(time.Second)},
		"fresh DELETE":            {method: http.MethodDelete, wantTAT: ns(5 * time.Second), wantMTAT: ns(10 * time.Second), holders: 1},
		"GET within the burst":    {st: state{TAT: ns(4 * time.Second)}, method: http.MethodGet, wantTAT: ns(5 * time.Second)},
		"GET past the burst":      {st: state{TAT: ns(5 * time.Second)}, method: http.MethodGet, wait: time.Second, blocked: blockBudget},
		"DELETE needs 5 points":   {st: state{TAT: ns(2 * time.Second)}, method: http.MethodDelete, wait: 2 * time.Second, blocked: blockBudget},
		"DELETE mutating budget":  {st: state{MutTAT: ns(3 * time.Second)}, method: http.MethodDelete, wait: 3 * time.Second, blocked: blockBudget},
		"old TAT is a full burst": {st: state{TAT: ns(-time.Hour)}, method: http.MethodGet, wantTAT: ns(time.Second)},
		"pause holds everything":  {st: state{PauseUntil: ns(7 * time.Second)}, method: http.MethodGet, wait: 7 * time.Second, blocked: blockPause},
		"pause over":              {st: state{PauseUntil: ns(-time.Second), PauseWhy: "x"}, method: http.MethodGet, wantTAT: ns(time.Second)},
		"slots full":              {st: state{Holders: []holder{{"a", ns(time.Minute)}, {"b", ns(time.Minute)}}}, method: http.MethodDelete, wait: 50 * time.Millisecond, blocked: blockSlot},
		"slot frees at expiry":    {st: state{Holders: []holder{{"a", ns(10 * time.Millisecond)}, {"b", ns(time.Minute)}}}, method: http.MethodDelete, wait: 10 * time.Millisecond, blocked: blockSlot},
		"expired lease dropped":   {st: state{Holders: []holder{{"a", ns(0)}, {"b", ns(time.Minute)}}}, method: http.MethodDelete, wantTAT: ns(5 * time.Second), wantMTAT: ns(10 * time.Second), holders: 2},
		"GET ignores slots":       {st: state{Holders: []holder{{"a", ns(time.Minute)}, {"b", ns(time.Minute)}}}, method: http.MethodGet, wantTAT: ns(time.Second), holders: 2},
	}
	cfg := testConfig()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := cfg.admit(tc.st, t0, Points(tc.method), isMutating(tc.method), "me")
			if d.wait != tc.wait || d.blocked != tc.blocked {
				t.Fatalf("wait %s blocked %s, want %s %s", d.wait, d.blocked, tc.wait, tc.blocked)
			}
			if tc.wait > 0 {
				return
			}
			if d.next.TAT != tc.wantTAT || len(d.next.Holders) != tc.holders || d.next.PauseUntil != 0 {
				t.Errorf("next %+v", d.next)
			}
			if tc.wantMTAT != 0 && d.next.MutTAT != tc.wantMTAT {
				t.Errorf("mutating TAT %d, want %d", d.next.MutTAT, tc.wantMTAT)
			}
			if isMutating(tc.method) && d.next.Holders[len(d.next.Holders)-1].ID != "me" {
				t.Errorf("holders %+v", d.next.Holders)
			}
		})
	}
}

// TestAdmitNeverExceedsBudget drives admit with a fake clock that jumps to
// each requested wait, and checks the GCRA bound: at most Points+Burst
// points in any window.
func TestAdmitNeverExceedsBudget(t *testing.T) {
	cfg := testConfig()
	var st state
	now := t0
	type sent struct {
		at     time.Time
		points int
	}
	var log []sent
	methods := []string{http.MethodGet, http.MethodDelete, http.MethodGet, http.MethodGet, http.MethodDelete}
	for i := 0; len(log) < 200; i++ {
		m := methods[i%len(methods)]
		d := cfg.admit(st, now, Points(m), isMutating(m), "x")
		if d.wait > 0 {
			now = now.Add(d.wait)
			continue
		}
		// Release at once: this test is about budgets, not slots.
		st, _ = release(d.next, "x")
		log = append(log, sent{now, Points(m)})
	}
	for i := range log {
		sum := 0
		for j := i; j < len(log) && log[j].at.Sub(log[i].at) < cfg.Window; j++ {
			sum += log[j].points
		}
		if sum > cfg.Points+cfg.Burst {
			t.Fatalf("%d points in the window from %s", sum, log[i].at)
		}
	}
	// And the budget is used: 200 requests of 13 points per 5 take about
	// 520 points, so about 8.7 minutes.
	if took := log[len(log)-1].at.Sub(t0); took > 9*time.Minute {
		t.Errorf("200 requests took %s", took)
	}
}

func TestPauseAndRelease(t *testing.T) {
	cfg := testConfig()
	until := t0.Add(30 * time.Second)
	st, changed := cfg.pause(state{TAT: t0.UnixNano()}, until, "secondary", true)
	if !changed || st.PauseUntil != until.UnixNano() || st.TAT != until.Add(5*time.Second).UnixNano() || st.MutTAT != until.UnixNano() {
		t.Fatalf("secondary pause %+v", st)
	}
	if _, changed := cfg.pause(st, t0.Add(10*time.Second), "primary", false); changed {
		t.Errorf("an earlier pause changed the state")
	}
	// After the pause the first request waits for the budget to refill.
	d := cfg.admit(st, until, 1, false, "")
	if d.blocked != blockBudget || d.wait != time.Second {
		t.Errorf("after pause: %+v", d)
	}
	st = state{Holders: []holder{{"a", 1}, {"b", 2}}}
	if got, ok := release(st, "a"); !ok || len(got.Holders) != 1 || got.Holders[0].ID != "b" || len(st.Holders) != 2 {
		t.Errorf("release a: %+v %v (original %+v)", got, ok, st)
	}
	if _, ok := release(st, "c"); ok {
		t.Errorf("released a slot never held")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := map[string]struct {
		cfg Config
		ok  bool
	}{
		"defaults":        {Config{}, true},
		"tiny points":     {Config{Points: 4}, false},
		"burst below one": {Config{Burst: 4}, false},
		"negative slots":  {Config{MaxMutatingInFlight: -1}, false},
		"negative budget": {Config{Mutating: -2}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate: %v", err)
			}
		})
	}
	d := Config{}.WithDefaults()
	if d.Window != time.Minute || d.Points != 600 || d.Mutating != 100 || d.MaxMutatingInFlight != 3 {
		t.Errorf("defaults %+v", d)
	}
}
