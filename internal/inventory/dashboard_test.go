package inventory

import (
	"context"
	"slices"
	"testing"
)

func TestDashboardRows(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	other := acmeContainer("app")
	other.Owner = "beta"
	for _, w := range []struct {
		inst int64
		pkg  Package
		row  string
	}{
		{1, acmeContainer("app"), `{"a":1}`},
		{1, dotted, `{"dotted":1}`},
		{1, acmeContainer("app"), `{"a":2}`}, // rewritten, not added
		{1, other, `{"beta":1}`},
		{2, acmeContainer("app"), `{"inst2":1}`},
	} {
		if err := s.SetDashboardRow(ctx, w.inst, w.pkg, []byte(w.row)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		inst  int64
		owner string
		want  []string
	}{
		{1, "acme", []string{`{"a":2}`, `{"dotted":1}`}},
		{1, "ACME", []string{`{"a":2}`, `{"dotted":1}`}},
		{1, "beta", []string{`{"beta":1}`}},
		{2, "acme", []string{`{"inst2":1}`}},
		{3, "acme", nil},
	}
	for _, tc := range tests {
		rows, err := s.DashboardRows(ctx, tc.inst, tc.owner)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, string(r))
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("installation %d owner %s: rows %q, want %q", tc.inst, tc.owner, got, tc.want)
		}
	}
	if row, ok, err := s.DashboardRow(ctx, 1, dotted); err != nil || !ok || string(row) != `{"dotted":1}` {
		t.Errorf("DashboardRow = %s %v %v", row, ok, err)
	}
	if err := s.ClearDashboardRow(ctx, 1, dotted); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.DashboardRow(ctx, 1, dotted); err != nil || ok {
		t.Errorf("after clear: found %v, err %v", ok, err)
	}
}
