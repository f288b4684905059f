package ghsim

import "net/http"

func (s *Sim) registerAppAdmin(mux *http.ServeMux) {}
