// Command pkgwarden is the GitHub App that keeps GitHub Packages tidy: see
// `pkgwarden help`. Each subcommand lives in its own file as
// runX(ctx, args, stdout, stderr) and is listed in commands below.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// command is one subcommand.
type command struct {
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	summary string
}

// commands lists the subcommands; add new ones here.
func commands() map[string]command {
	return map[string]command{
		"demo":     {runDemo, "the whole loop offline in one command: simulator, serve, webhooks, prune (no setup)"},
		"serve":    {runServe, "run the webhook server, workers and scheduler (settings: PKGWARDEN_* variables)"},
		"plan":     {runPlan, "dry run: what the rules would delete and keep, with reasons (never deletes)"},
		"register": {runRegister, "create the GitHub App from app-manifest.yml and save its credentials in the data dir"},
		"sim":      {runSim, "run the GitHub simulator (Packages API, app, issues, a ghcr-like registry)"},
		"version":  {runVersion, "print the version"},
	}
}

func main() {
	// SIGINT and SIGTERM cancel ctx; each command drains and stops cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks a wrong command line (exit status 2).
var errUsage = errors.New("usage")

// run dispatches to a subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "pkgwarden: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		// Name the command once, even when its error already starts with
		// its name (errors some commands wrap from their helpers).
		fmt.Fprintf(stderr, "pkgwarden %s: %s\n", args[0], strings.TrimPrefix(err.Error(), args[0]+": "))
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: pkgwarden <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
}
