package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v57/github"
)

// Answers: pkgwarden's reply, in the report issue, to what a person asked
// there (a /pkgwarden comment, a ticked box).

// answerMarker is the hidden last line of the answer of run runID.
func answerMarker(runID string) string {
	return "<!-- pkgwarden:answer " + strings.ReplaceAll(runID, " ", "_") + " -->"
}

// Answer replies to sender on issue of repository ("owner/name") with
// text, as the job runID. A comment of the issue's first page (100
// comments) already carrying runID's marker is not added again: a retried
// job answers once. Result.Commented says whether a comment was added.
func (r *Reporter) Answer(ctx context.Context, installation int64, repository string, issue int, sender, runID, text string) (Result, error) {
	sep := " "
	if strings.Contains(text, "\n") {
		// A list (several lines asked, or notes) starts on a line of its
		// own, or GitHub renders its first item as text.
		sep = "\n\n"
	}
	marker := answerMarker(runID)
	body := fmt.Sprintf("@%s%s%s\n\n%s", sender, sep, text, marker)
	owner, _, _ := strings.Cut(repository, "/")
	repo := repoName(repository)
	gh := r.clients.InstallationClient(installation)
	res := Result{Issue: Issue{Repository: repository, Number: issue}}
	list, _, err := gh.Issues.ListComments(ctx, owner, repo, issue, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		return res, fmt.Errorf("list comments of %s#%d: %w", repository, issue, err)
	}
	if containsMarker(list, marker) {
		return res, nil
	}
	if _, _, err := gh.Issues.CreateComment(ctx, owner, repo, issue, &github.IssueComment{Body: github.String(body)}); err != nil {
		return res, fmt.Errorf("answer on %s#%d: %w", repository, issue, err)
	}
	res.Commented = true
	return res, nil
}
