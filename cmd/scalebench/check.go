package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pkgwarden/pkgwarden/internal/scaleworld"
)

// expected sums what the world's rules must do.
type expected struct {
	Versions int
	// Active are the versions listed active before the sweep (every
	// digest a cold sweep must read once), ListingPages the pages of 100
	// listing them.
	Active, ListingPages int
	Deleted, Restored    int
	Gone                 int
}

func expect(spec scaleworld.Spec) expected {
	var e expected
	for i := range spec.Packages {
		n := spec.Package(i).Count()
		active := n[scaleworld.Kept] + n[scaleworld.Deleted]
		e.Versions += n[scaleworld.Kept] + n[scaleworld.Deleted] + n[scaleworld.Restored] + n[scaleworld.Gone]
		e.Active += active
		e.ListingPages += (active + 99) / 100
		e.Deleted += n[scaleworld.Deleted]
		e.Restored += n[scaleworld.Restored]
		e.Gone += n[scaleworld.Gone]
	}
	return e
}

// endState is what the check after the sweeps found.
type endState struct {
	Packages, Versions int
	// Wrong are the versions not as the rules leave them (the first 10
	// described), of WrongCount.
	Wrong      []string
	WrongCount int
	// Pulls: the kept tags of PulledPackages packages, each manifest by
	// tag and an index's platforms by digest; BrokenAsExpected are the
	// platforms gone for good that answer 404 as they must.
	PulledPackages, TagsPulled, ChildrenPulled, BrokenAsExpected int
	PullFailures                                                 []string
	PullFailCount                                                int
	Err                                                          error
}

// OK reports whether every check passed.
func (e endState) OK() bool {
	return e.Err == nil && e.WrongCount == 0 && e.PullFailCount == 0 && e.Packages > 0
}

// checkEnd lists every package's versions, active and deleted, through
// the REST API, and pulls the kept tags of the first cfg.PullSample
// packages through the registry, four packages at a time.
func checkEnd(ctx context.Context, cfg config, info simInfo, exp expected) endState {
	spec := scaleworld.Spec{Packages: cfg.Packages, Versions: cfg.Versions, Seed: cfg.Seed}
	e := endState{}
	c := &checker{api: info.APIURL, reg: info.RegistryURL, token: info.Scale.Token, org: info.Scale.Org,
		client: &http.Client{Timeout: time.Minute}}
	if c.regToken, e.Err = c.registryToken(); e.Err != nil {
		return e
	}
	sample := cfg.PullSample
	if sample <= 0 || sample > spec.Packages {
		sample = spec.Packages
	}
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				p := spec.Package(i)
				var pe endState
				pe.Err = c.checkPackage(ctx, p, &pe)
				if pe.Err == nil && i < sample {
					pe.PulledPackages = 1
					pe.Err = c.pullPackage(p, &pe)
				}
				mu.Lock()
				e.merge(pe)
				mu.Unlock()
			}
		}()
	}
	for i := range spec.Packages {
		work <- i
	}
	close(work)
	wg.Wait()
	return e
}

func (e *endState) merge(o endState) {
	e.Packages++
	e.Versions += o.Versions
	e.WrongCount += o.WrongCount
	e.PulledPackages += o.PulledPackages
	e.TagsPulled += o.TagsPulled
	e.ChildrenPulled += o.ChildrenPulled
	e.BrokenAsExpected += o.BrokenAsExpected
	e.PullFailCount += o.PullFailCount
	for _, w := range o.Wrong {
		if len(e.Wrong) < 10 {
			e.Wrong = append(e.Wrong, w)
		}
	}
	for _, w := range o.PullFailures {
		if len(e.PullFailures) < 10 {
			e.PullFailures = append(e.PullFailures, w)
		}
	}
	if e.Err == nil {
		e.Err = o.Err
	}
}

type checker struct {
	api, reg, token, org, regToken string
	client                         *http.Client
}

func (e *endState) wrong(format string, args ...any) {
	e.WrongCount++
	if len(e.Wrong) < 10 {
		e.Wrong = append(e.Wrong, fmt.Sprintf(format, args...))
	}
}

func (e *endState) pullFailed(format string, args ...any) {
	e.PullFailCount++
	if len(e.PullFailures) < 10 {
		e.PullFailures = append(e.PullFailures, fmt.Sprintf(format, args...))
	}
}

// checkPackage compares the package's listings with its versions'
// fates: kept and restored versions active, deleted ones in the deleted
// listing, gone ones nowhere, and nothing else listed.
func (c *checker) checkPackage(ctx context.Context, p scaleworld.Package, e *endState) error {
	active, err := c.list(ctx, p.Name, "active")
	if err != nil {
		return err
	}
	deleted, err := c.list(ctx, p.Name, "deleted")
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, v := range p.Versions {
		known[v.Digest] = true
		e.Versions++
		isActive, isDeleted := active[v.Digest], deleted[v.Digest]
		var ok bool
		switch v.Fate {
		case scaleworld.Kept, scaleworld.Restored:
			ok = isActive && !isDeleted
		case scaleworld.Deleted:
			ok = !isActive && isDeleted
		case scaleworld.Gone:
			ok = !isActive && !isDeleted
		}
		if !ok {
			e.wrong("%s %s (tags %v, %s old, %s): active %t, deleted %t", p.Name, v.Digest, v.Tags, v.Age.Round(time.Hour), v.Fate, isActive, isDeleted)
		}
	}
	for d := range active {
		if !known[d] {
			e.wrong("%s %s: active, not seeded", p.Name, d)
		}
	}
	return nil
}

// list returns the digests of a package's versions in state.
func (c *checker) list(ctx context.Context, pkg, state string) (map[string]bool, error) {
	out := map[string]bool{}
	for page := 1; ; page++ {
		url := fmt.Sprintf("%sorgs/%s/packages/container/%s/versions?per_page=100&page=%d&state=%s", c.api, c.org, pkg, page, state)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := c.client.Do(req)
		if err != nil {
			return nil, err
		}
		var vs []struct {
			Name string `json:"name"`
		}
		err = json.NewDecoder(resp.Body).Decode(&vs)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			return nil, fmt.Errorf("list %s %s page %d: %s (%v)", pkg, state, page, resp.Status, err)
		}
		for _, v := range vs {
			out[v.Name] = true
		}
		if len(vs) < 100 {
			return out, nil
		}
	}
}

// registryToken asks the registry for a bearer token as a puller does.
func (c *checker) registryToken() (string, error) {
	req, err := http.NewRequest(http.MethodGet, c.reg+"/token", nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(scaleworld.Admin, c.token)
	resp, err := c.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var t struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || t.Token == "" {
		return "", fmt.Errorf("registry token: %s (%v)", resp.Status, err)
	}
	return t.Token, nil
}

// pullPackage pulls every tag of the package's kept versions and checks
// that it is the seeded manifest; of an index, each platform by digest:
// present unless gone for good (then 404, as the broken release is).
func (c *checker) pullPackage(p scaleworld.Package, e *endState) error {
	fate := map[string]scaleworld.Fate{}
	for _, v := range p.Versions {
		fate[v.Digest] = v.Fate
	}
	for _, v := range p.Versions {
		if v.Fate != scaleworld.Kept || len(v.Tags) == 0 {
			continue
		}
		for _, tag := range v.Tags {
			status, digest, err := c.pull(p.Name, tag)
			if err != nil {
				return err
			}
			e.TagsPulled++
			if status != http.StatusOK || digest != v.Digest {
				e.pullFailed("%s:%s: %d, digest %s, want %s", p.Name, tag, status, digest, v.Digest)
			}
		}
		for _, child := range v.Children {
			status, digest, err := c.pull(p.Name, child)
			if err != nil {
				return err
			}
			switch {
			case fate[child] == scaleworld.Gone && status == http.StatusNotFound:
				e.BrokenAsExpected++
			case fate[child] == scaleworld.Gone:
				e.pullFailed("%s@%s: gone for good, answered %d", p.Name, child, status)
			case status != http.StatusOK || digest != child:
				e.pullFailed("%s@%s (platform of %s): %d", p.Name, child, v.Tags[0], status)
			default:
				e.ChildrenPulled++
			}
		}
	}
	return nil
}

// pull GETs a manifest and returns the status and the body's digest.
func (c *checker) pull(pkg, ref string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v2/%s/%s/manifests/%s", c.reg, c.org, pkg, ref), nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.regToken)
	req.Header.Set("Accept", strings.Join([]string{scaleworld.OCIIndex, scaleworld.OCIImage}, ", "))
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	sum := sha256.Sum256(b)
	return resp.StatusCode, "sha256:" + hex.EncodeToString(sum[:]), nil
}
