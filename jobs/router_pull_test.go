package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/testwait"
	"github.com/pkgwarden/pkgwarden/internal/webhook"
	"github.com/pkgwarden/pkgwarden/queue"
	"github.com/pkgwarden/pkgwarden/queue/queuetest"
)

func pullBody(action string, number int, head string, baseID, baseRepoID int64, headRepoID int64) []byte {
	return fmt.Appendf(nil, `{"action":%q,"number":%d,"installation":{"id":1},
		"repository":{"id":%d,"name":"app","full_name":"acme/app","owner":{"login":"acme"}},
		"pull_request":{"number":%d,
			"head":{"sha":%q,"repo":{"id":%d,"full_name":"someone/app"}},
			"base":{"sha":"b0","repo":{"id":%d,"full_name":"acme/app"}}}}`,
		action, number, baseID, number, head, headRepoID, baseRepoID)
}

// TestRoutePullRequest routes pull_request deliveries: the actions that
// change what would merge queue one config check per pull request (a
// burst of pushes coalesces into one job carrying the latest head); other
// actions, and a payload whose base is not the event's repository, queue
// nothing.
func TestRoutePullRequest(t *testing.T) {
	tests := map[string]struct {
		bodies   [][]byte
		wantJobs uint64
		wantHead string
		wantFork bool
	}{
		"opened":  {bodies: [][]byte{pullBody("opened", 7, "h1", 10, 10, 10)}, wantJobs: 1, wantHead: "h1"},
		"fork":    {bodies: [][]byte{pullBody("reopened", 7, "h1", 10, 10, 99)}, wantJobs: 1, wantHead: "h1", wantFork: true},
		"closed":  {bodies: [][]byte{pullBody("closed", 7, "h1", 10, 10, 10)}},
		"edited":  {bodies: [][]byte{pullBody("edited", 7, "h1", 10, 10, 10)}},
		"foreign": {bodies: [][]byte{pullBody("opened", 7, "h1", 10, 11, 10)}},
		"burst": {bodies: [][]byte{
			pullBody("opened", 7, "h1", 10, 10, 10), pullBody("synchronize", 7, "h2", 10, 10, 10),
			pullBody("synchronize", 7, "h3", 10, 10, 10),
		}, wantJobs: 1, wantHead: "h3"},
		"two pull requests": {bodies: [][]byte{pullBody("opened", 7, "h1", 10, 10, 10), pullBody("opened", 8, "h2", 10, 10, 10)}, wantJobs: 2, wantHead: "h1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			srv := queuetest.Start(t, "", queuetest.Config())
			for i, b := range tc.bodies {
				if _, err := srv.Queue.PublishDelivery(ctx, webhook.EventPullRequest, fmt.Sprintf("pr-%d", i), b); err != nil {
					t.Fatal(err)
				}
			}
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go NewRouter(srv.Queue, RouterConfig{}, testLogger(t)).Run(rctx)
			testwait.For(t, "routing", 10*time.Second, func() bool { return msgs(t, srv.Queue, queue.StreamWebhooks) == 0 })
			if n := msgs(t, srv.Queue, queue.StreamJobs); n != tc.wantJobs {
				t.Fatalf("jobs stream holds %d, want %d", n, tc.wantJobs)
			}
			if tc.wantJobs == 0 {
				return
			}
			stream, err := srv.Queue.JS.Stream(ctx, queue.StreamJobs)
			if err != nil {
				t.Fatal(err)
			}
			m, err := stream.GetLastMsgForSubject(ctx, Job{Type: TypeConfigCheck, Target: CheckTarget(1, "acme", "app", 7)}.Subject())
			if err != nil {
				t.Fatal(err)
			}
			var job Job
			if err := json.Unmarshal(m.Data, &job); err != nil {
				t.Fatal(err)
			}
			if job.PullRequest == nil || job.PullRequest.HeadSHA != tc.wantHead || job.PullRequest.Fork != tc.wantFork || job.PullRequest.BaseSHA != "b0" {
				t.Errorf("job's pull request = %+v, want head %s, fork %v, base b0", job.PullRequest, tc.wantHead, tc.wantFork)
			}
		})
	}
}
