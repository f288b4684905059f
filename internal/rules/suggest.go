package rules

import (
	"fmt"
	"strings"
)

// unknownKeyMsg is the message for key, unknown where it stands (field is
// its parent's path, known the keys valid there): the known key it most
// likely misspells, else the place of the schema where key would be valid
// (a key indented one level too little lands in its parent), else the
// list of known keys.
func unknownKeyMsg(field, key string, known []string) string {
	if s := closest(key, known); s != "" {
		return fmt.Sprintf("unknown key; did you mean `%s`?", s)
	}
	if parent, ok := keyHomes[key]; ok && parent != placeOf(field) {
		return fmt.Sprintf("unknown key here; `%s` belongs under `%s:` (indent it below that key)", key, parent)
	}
	return fmt.Sprintf("unknown key (known: %s)", strings.Join(known, ", "))
}

// keyHomes is where the keys that are valid in one block only belong,
// for a key found one level up. The report keys are left out: the
// decoder lists them in place.
var keyHomes = func() map[string]string {
	m := map[string]string{}
	for _, k := range pruneKeys {
		m[k] = "prune"
	}
	for _, k := range restoreKeys {
		if _, taken := m[k]; !taken {
			m[k] = "restore"
		}
	}
	for _, k := range policyKeys {
		m[k] = "policy"
	}
	return m
}()

// placeOf is the last key of a field path ("rules[0].prune" → "prune").
func placeOf(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		field = field[i+1:]
	}
	if i := strings.IndexByte(field, '['); i >= 0 {
		field = field[:i]
	}
	return field
}

// closest returns the known key that key most likely misspells, or "":
// the same key in another case or with '-' or ' ' for '_', a key it starts
// or ends (5 characters at least), or one within a small edit distance
// (a letter missing, extra, wrong or two swapped per four letters, two
// at most).
func closest(key string, known []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
	}
	k := norm(key)
	if k == "" || len(k) > 64 {
		return ""
	}
	best, bestDist := "", 3
	for _, c := range known {
		nc := norm(c)
		if nc == k {
			return c
		}
		if len(k) >= 5 && (strings.HasPrefix(nc, k) || strings.HasPrefix(k, nc) && len(nc) >= 5) {
			return c
		}
		limit := min(2, max(1, len(nc)/4))
		if d := editDistance(k, nc); d <= limit && d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b
// (Levenshtein with swaps of neighbours), over bytes: keys are ASCII.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
