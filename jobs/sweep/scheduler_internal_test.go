package sweep

import (
	"testing"
	"time"
)

func TestSweepItemOrder(t *testing.T) {
	cases := map[string]struct {
		offset time.Duration
		key    string
		want   bool
	}{
		"later offset":             {offset: time.Second, key: "a", want: true},
		"earlier offset":           {offset: time.Millisecond, key: "z", want: false},
		"same offset, later key":   {offset: 10 * time.Millisecond, key: "z", want: true},
		"same offset, earlier key": {offset: 10 * time.Millisecond, key: "a", want: false},
		"same item":                {offset: 10 * time.Millisecond, key: "m", want: false},
	}
	it := sweepItem{key: "m", offset: 10 * time.Millisecond}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			// after(pos): does the item come after position (offset, key)?
			probe := sweepItem{key: tc.key, offset: tc.offset}
			if got := probe.after(it.offset, it.key); got != tc.want {
				t.Errorf("(%s, %s) after (%s, %s) = %t, want %t", tc.offset, tc.key, it.offset, it.key, got, tc.want)
			}
		})
	}
}
