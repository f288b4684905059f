package ghsim

import (
	"context"
	"testing"
)

func TestAccounts(t *testing.T) {
	w := newAppWorld(t)
	f, ctx := w.f, context.Background()
	tok, err := f.sim.AddClassicToken("olga", "repo", "read:packages")
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := f.installationClient(t, w.orgInst)

	u, resp, err := f.client(tok).Users.Get(ctx, "")
	if err != nil || u.GetLogin() != "olga" || resp.Header.Get("X-OAuth-Scopes") != "read:packages, repo" {
		t.Errorf("GET /user: %v, login %q, scopes %q", err, u.GetLogin(), resp.Header.Get("X-OAuth-Scopes"))
	}
	if _, resp, _ := inst.Users.Get(ctx, ""); resp == nil || resp.StatusCode != 403 {
		t.Errorf("GET /user with an installation token: %v, want 403", resp)
	}
	if _, resp, _ := f.client("").Users.Get(ctx, ""); resp == nil || resp.StatusCode != 401 {
		t.Errorf("GET /user anonymously: %v, want 401", resp)
	}

	tests := map[string]struct {
		login, typ string
		want       int
	}{
		"user":          {"olga", "User", 200},
		"org as a user": {"acme", "Organization", 200},
		"the bot":       {f.sim.BotLogin(), "Bot", 200},
		"nobody":        {"nope", "", 404},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			u, resp, _ := inst.Users.Get(ctx, tc.login)
			typ, code := u.GetType(), resp.StatusCode
			if code != tc.want || (code == 200 && typ != tc.typ) {
				t.Errorf("status %d type %q, want %d %q", code, typ, tc.want, tc.typ)
			}
		})
	}
}
