package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pkgwarden/pkgwarden/internal/configdiff"
	"github.com/pkgwarden/pkgwarden/internal/planner"
	"github.com/pkgwarden/pkgwarden/internal/rules"
)

// diffArgs are the flags of `plan --config NEW --against OLD` (or --diff).
type diffArgs struct {
	repo, pkg       string
	config, against string // against is empty for the committed file
	json            bool
}

// planDiff prints what changing the file --config stands for (configTarget)
// from OLD (or the committed file) into NEW would do to the selected
// packages. A file that does not decode is named by its flag, with each
// error at its line and column.
func planDiff(ctx context.Context, stdout io.Writer, p *planner.Planner, src rules.Source, sel planner.Selection, a diffArgs) error {
	target, err := configTarget(a.repo, a.pkg, sel)
	if err != nil {
		return fmt.Errorf("--config %s: %w", a.config, err)
	}
	ch := configdiff.Change{Repo: target}
	if ch.New, err = readSide("--config", a.config); err != nil {
		return err
	}
	if a.against != "" {
		if ch.Old, err = readSide("--against", a.against); err != nil {
			return err
		}
	}
	d, err := configdiff.Compare(ctx, p, src, sel, ch)
	var invalid *configdiff.InvalidError
	switch {
	case errors.As(err, &invalid) && invalid.Side == "old":
		return fmt.Errorf("--against %s: %w", a.against, err)
	case errors.As(err, &invalid):
		return fmt.Errorf("--config %s: %w", a.config, err)
	case err != nil:
		return err
	}
	if a.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	return configdiff.WriteText(stdout, d)
}

func readSide(flagName, path string) (configdiff.File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return configdiff.File{}, fmt.Errorf("%s: %w", flagName, err)
	}
	if data == nil {
		data = []byte{} // an empty file is a file, not the committed one
	}
	return configdiff.File{Name: path, Data: data}, nil
}
