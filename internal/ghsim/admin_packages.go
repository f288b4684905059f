package ghsim

import "net/http"

func (s *Sim) registerPackageAdmin(mux *http.ServeMux) {}
