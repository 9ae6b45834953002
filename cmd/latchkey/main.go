// Command latchkey is a self-hosted control plane that speaks the console-
// and admin-password APIs of Alibaba Cloud (ECS, E-HPC, RAM) and Baidu AI
// Cloud (BCC) exactly as the clouds do, so that their official SDKs and
// CLIs work against it unchanged. See README.md and `latchkey help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts a graceful shutdown, a second one
	// kills the process the default way.
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "latchkey: %v\n", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// command is one subcommand of latchkey.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

// commands lists latchkey's subcommands by name. Adding a subcommand is
// adding an entry here and a file that implements it.
func commands() map[string]command {
	return map[string]command{
		"serve":   {summary: "run the control plane (Alibaba RPC, BCE REST, consoles, internal API)", run: runServe},
		"console": {summary: "open an instance's console for a local VNC client (vncviewer, vncsnapshot)", run: runConsole},
		"agent":   {summary: "run the node agent of an E-HPC login node: its TigerVNC visual service (see --visual-driver tigervnc)", run: runAgent},
		// The browser console page (web/), in consoleurl.go.
		"console-url": {summary: "print a fresh URL of an instance's browser console page", run: runConsoleURL},
		// The internal API's subcommands (PRODUCT.md §8), in admin.go and
		// the file of each.
		"fleet":          {summary: "apply a fleet file, reset, or print the demo fleet", run: runFleet},
		"inspect":        {summary: "list resources or show one as JSON, secrets redacted", run: runInspect},
		"check-password": {summary: "check a password against a console, visual service, cluster user or guest", run: runCheckPassword},
		"faults":         {summary: "add, list and clear fault rules (unreachable consoles, agent timeouts, …)", run: runFaults},
		"audit":          {summary: "show the audit log by resource, principal and time", run: runAudit},
	}
}

// usageError is an error in how latchkey was invoked; main exits 2.
type usageError struct{ error }

// run is latchkey's whole program: args are os.Args, getenv reads the
// environment, and ctx is cancelled by SIGINT or SIGTERM. It returns nil
// on success, including after a requested shutdown.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		printUsage(stderr)
		return usageError{errors.New("no command given")}
	}
	name, rest := args[1], args[2:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if c, ok := commands()[rest[0]]; ok {
				return c.run(ctx, []string{"--help"}, getenv, stdout, stderr)
			}
		}
		printUsage(stdout)
		return nil
	}
	c, ok := commands()[name]
	if !ok {
		printUsage(stderr)
		return usageError{fmt.Errorf("unknown command %q", name)}
	}
	return c.run(ctx, rest, getenv, stdout, stderr)
}

func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("latchkey: Alibaba Cloud ECS/E-HPC/RAM and Baidu BCC password APIs, for real.\n\nUsage:\n  latchkey <command> [flags]\n\nCommands:\n")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-15s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun 'latchkey <command> --help' for a command's flags.\n")
	io.WriteString(w, b.String())
}
