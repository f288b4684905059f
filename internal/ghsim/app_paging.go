package ghsim

import "net/http"

// appPage returns the views of the page of list that r asks for (page and
// per_page, as appPaging reads them) and sets the Link header of list's
// pages: how every paged list endpoint of the simulated API answers. list
// is in the order the endpoint lists. Called with s.mu held.
func appPage[T, V any](s *world, w http.ResponseWriter, r *http.Request, list []T, view func(T) V) []V {
	page, perPage := appPaging(r)
	lo, hi := appPageBounds(len(list), page, perPage)
	out := make([]V, 0, hi-lo)
	for _, item := range list[lo:hi] {
		out = append(out, view(item))
	}
	s.appPageLinks(w, r, page, perPage, len(list))
	return out
}
