package report

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/pkgwarden/pkgwarden/internal/pkgref"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// What makes an issue pkgwarden's report, and a box pkgwarden's box.
//
// Every byte of an issue was written by someone: its title and body by its
// author, its boxes by whoever edited it last. pkgwarden acts on a report
// only when GitHub says its own bot wrote the issue (Recognise), and on a
// ticked box only when the box carries a seal that only pkgwarden can make
// (Seal): a line someone added or changed is ignored.

// Errors of Recognise: why an issue is not a report.
var (
	// ErrNotReport: the title or the hidden marker is not a report's.
	ErrNotReport = errors.New("not a pkgwarden report")
	// ErrNotOurs: someone other than pkgwarden's bot wrote the issue, or
	// the bot's login is unknown.
	ErrNotOurs = errors.New("not written by pkgwarden's bot")
	// ErrElsewhere: the issue is in a repository of another owner than the
	// package's.
	ErrElsewhere = errors.New("not in a repository of the package's owner")
)

// IssueFacts is what GitHub says of an issue: a webhook's (signed)
// payload, or an answer of the issues API.
type IssueFacts struct {
	// RepoOwner is the login of the repository's owner, as GitHub spells it.
	RepoOwner string
	// Author is the issue's author (issue.user.login).
	Author string
	Title  string
	Body   string
}

// Recognise returns the package an issue reports on when the issue is a
// pkgwarden report: written by bot (pkgwarden's own "<slug>[bot]"), its
// title and its first line naming the same package, in a repository of the
// package's owner. The package's owner is GitHub's spelling of the
// repository owner, never the title's. Where within the owner's
// repositories a package's report belongs depends on the package (its
// linked repository), which the restore job checks (ReportPlace).
func Recognise(bot string, is IssueFacts) (rules.Package, error) {
	if bot == "" || !strings.EqualFold(is.Author, bot) {
		return rules.Package{}, ErrNotOurs
	}
	pkg, ok := ParseTitle(is.Title)
	if !ok {
		return rules.Package{}, ErrNotReport
	}
	named, ok := markerPackage(is.Body)
	if !ok || named.Key() != pkg.Key() {
		return rules.Package{}, ErrNotReport
	}
	if is.RepoOwner == "" || !strings.EqualFold(pkg.Owner, is.RepoOwner) {
		return rules.Package{}, ErrElsewhere
	}
	pkg.Owner = is.RepoOwner
	return pkg, nil
}

// ReportPlace reports whether repository ("owner/name") is where the
// report of a package linked to linked ("owner/name", "" for none) is
// written: the linked repository, or the owner's ".github" when the package
// has none or its repository takes no issues (takesIssues false).
func ReportPlace(repository, owner, linked string, takesIssues bool) bool {
	ownerRepo := owner + "/" + rules.OwnerRepo
	if linked == "" || strings.EqualFold(pkgref.RepoName(linked), rules.OwnerRepo) {
		return strings.EqualFold(repository, ownerRepo)
	}
	if strings.EqualFold(repository, linked) {
		return true
	}
	return !takesIssues && strings.EqualFold(repository, ownerRepo)
}

// markerPrefix starts the first line of a report body; the line names the
// package: "<!-- pkgwarden:report container acme/app -->".
const markerPrefix = "<!-- pkgwarden:report "

// bodyMarkerOf is the first line of pkg's report body.
func bodyMarkerOf(pkg rules.Package) string {
	return markerPrefix + oneLine(pkg.Type+" "+pkg.Owner+"/"+pkg.Name) + " -->"
}

// markerPackage reads the package named by a body's first line.
func markerPackage(body string) (rules.Package, bool) {
	line, _, _ := strings.Cut(body, "\n")
	line = strings.TrimSuffix(line, "\r")
	inner, ok := strings.CutPrefix(line, markerPrefix)
	if !ok {
		return rules.Package{}, false
	}
	inner, ok = strings.CutSuffix(inner, " -->")
	if !ok {
		return rules.Package{}, false
	}
	return ParseTitle(titlePrefix + inner)
}

// withMarker gives a body kept from an earlier write the first line of
// pkg's report (bodies written before the line named the package start
// with the bare marker).
func withMarker(body string, pkg rules.Package) string {
	first, rest, _ := strings.Cut(body, "\n")
	if strings.HasPrefix(first, bodyMarker) || strings.HasPrefix(first, markerPrefix) {
		return bodyMarkerOf(pkg) + "\n" + rest
	}
	return body
}

// Seal authenticates the boxes pkgwarden writes: each box's hidden marker
// carries a MAC over the box's kind, the package and the id, keyed by a
// secret only pkgwarden holds (NewSeal). A box someone added, or whose id
// someone changed, does not verify and is ignored. A seal binds a box to
// its package and id, not to one revision of the issue: a box copied back
// within the same report can only ask again what pkgwarden offered there,
// and the restore job still checks its records and the person's
// permission. The zero Seal signs nothing and verifies nothing.
type Seal struct {
	key []byte
}

// NewSeal derives the boxes' key from secret (serve gives the webhook
// secret, which GitHub and pkgwarden alone know).
func NewSeal(secret []byte) Seal {
	if len(secret) == 0 {
		return Seal{}
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("pkgwarden report boxes v1"))
	return Seal{key: mac.Sum(nil)}
}

// Box kinds.
const (
	// BoxRestore is a report body's restore box.
	BoxRestore = "restore"
	// BoxIntentional is a restore comment's "this deletion was
	// intentional" box.
	BoxIntentional = "intentional"
)

// sealLen is how many base64url characters of the MAC a marker carries
// (66 bits): a guess costs an issue edit, and a body holds hundreds of
// boxes, so short enough to keep a full run's list under GitHub's body
// limit and long enough that guessing is hopeless.
const sealLen = 11

// Sign returns the seal of box kind for id of pkg, "" for the zero Seal.
func (s Seal) Sign(kind string, pkg rules.Package, id int64) string {
	if len(s.key) == 0 {
		return ""
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(kind + "\x00" + pkg.Key() + "\x00" + strconv.FormatInt(id, 10)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:9])[:sealLen]
}

// Verify reports whether sig is the seal of box kind for id of pkg.
func (s Seal) Verify(kind string, pkg rules.Package, id int64, sig string) bool {
	if len(s.key) == 0 || len(sig) != sealLen {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(s.Sign(kind, pkg, id)))
}

// NewlyTicked returns the ids of pkg's restore boxes ticked in to and not
// in from that pkgwarden wrote (their seal verifies), ascending.
func (s Seal) NewlyTicked(pkg rules.Package, from, to string) []int64 {
	before := map[int64]bool{}
	for _, e := range ParseRestorable(from) {
		if e.Checked {
			before[e.ID] = true
		}
	}
	var out []int64
	for _, e := range ParseRestorable(to) {
		if e.Checked && !before[e.ID] && s.Verify(BoxRestore, pkg, e.ID, e.seal) {
			out = append(out, e.ID)
		}
	}
	sortIDs(out)
	return out
}

// Sealed returns the ids of pkg's restore boxes in body that pkgwarden
// wrote, ticked or not: what "restore all" may ask.
func (s Seal) Sealed(pkg rules.Package, body string) []int64 {
	var out []int64
	for _, e := range ParseRestorable(body) {
		if s.Verify(BoxRestore, pkg, e.ID, e.seal) {
			out = append(out, e.ID)
		}
	}
	return out
}
