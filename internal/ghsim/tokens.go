package ghsim

import "slices"

// IssuedTokens returns every installation token ("ghs_…") the simulator
// has issued since it started, sorted; tests grep logs for them to prove
// no token leaks. It is read-only and safe for concurrent use.
func (s *world) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v, t := range s.st.tokens {
		if t.Kind == tokenInstallation {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}
