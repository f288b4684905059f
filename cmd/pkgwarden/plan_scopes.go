package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/githubapi"
	"github.com/pkgwarden/pkgwarden/internal/planner"
)

// warnTokenScopes tells, on w, which scopes the token lacks for what the
// plan lists (as X-OAuth-Scopes listed them on the plan's answers): a plan
// reads with read:packages alone, and pruning would then fail at the
// first deletion. Nothing is said when GitHub listed no scopes (not a
// classic token) or none is missing.
func warnTokenScopes(w io.Writer, pc *githubapi.PackagesClient, plan planner.Plan) {
	have, known := pc.Scopes()
	if !known {
		return
	}
	var types []string
	for _, d := range plan.Packages {
		if !slices.Contains(types, d.Package.Type) {
			types = append(types, d.Package.Type)
		}
	}
	need := githubapi.ScopesFor(types...)
	missing := githubapi.MissingScopes(have, need)
	if len(missing) == 0 {
		return
	}
	fmt.Fprintf(w, "warning: the token lacks %s, which pkgwarden needs to prune and restore these packages (it has: %s).\n", scopeList(missing), scopeList(have))
	fmt.Fprintf(w, "  Tick %s on the token at https://github.com/settings/tokens, or create one: %s\n", scopeList(missing), githubapi.TokenFormURL("", need))
}

func scopeList(scopes []string) string {
	if len(scopes) == 0 {
		return "no scopes"
	}
	return strings.Join(scopes, ", ")
}
