package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

const fleetHelp = `Usage:
  latchkey fleet apply [flags] FILE    apply a fleet file (YAML) to the running server
  latchkey fleet reset [flags]         remove every resource but the root account and its key
  latchkey fleet reset --demo          ... then apply the demo fleet
  latchkey fleet demo                  print the demo fleet file

A fleet file describes accounts and what they own: RAM users and policies,
ECS instances, E-HPC clusters with users and visual services, BCC instances,
with their states and passwords. Resources are named, not numbered, so a file
means the same fleet on every server. Applying creates what is missing and
changes what differs (status, passwords, account state); applying the same
file twice changes nothing. It never deletes: reset first for exactly the
file. The file holds passwords in clear: keep it as you keep credentials;
latchkey never prints them.

Flags:
`

const fleetExamples = `
Examples:
  latchkey fleet demo > fleet.yaml      # a complete example to edit
  latchkey fleet apply fleet.yaml
  latchkey fleet reset && latchkey fleet apply fleet.yaml
  latchkey fleet reset --demo

A small fleet file:
  accounts:
    - id: root                          # the data directory's root account
      ecs:
        - name: web-1
          region: cn-hangzhou
          io_optimized: true
          status: Running
          vnc_password: Abc123
      bcc:
        - name: db-1
          region: bj
          admin_password: Passw0rd!
`

// appliedRow is one resource of an apply's answer.
type appliedRow struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	ID      string   `json:"id"`
	Account string   `json:"account"`
	Action  string   `json:"action"`
	Changes []string `json:"changes"`
}

// runFleet is `latchkey fleet`.
func runFleet(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	open := adminFlags(fs, getenv)
	asJSON := fs.Bool("json", false, "print the server's JSON answer")
	demo := fs.Bool("demo", false, "reset: apply the demo fleet after")
	if done, err := parseFlags(fs, interleave(args, boolFlags(fs)), fleetHelp, fleetExamples, stdout); done || err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError{errors.New("fleet: give a subcommand: apply FILE, reset or demo (see 'latchkey fleet --help')")}
	}
	switch rest[0] {
	case "apply", "reset", "demo":
	default:
		return usageError{fmt.Errorf("fleet: unknown subcommand %q (see 'latchkey fleet --help')", rest[0])}
	}
	c, err := open()
	if err != nil {
		return err
	}
	switch rest[0] {
	case "apply":
		if len(rest) != 2 {
			return usageError{errors.New("fleet apply takes one FILE")}
		}
		b, err := os.ReadFile(rest[1])
		if err != nil {
			return err
		}
		raw, err := c.call(ctx, "POST", "/_latchkey/fleet", b)
		var res struct {
			Changed   bool         `json:"changed"`
			Resources []appliedRow `json:"resources"`
		}
		if raw != nil {
			_ = decodeInto(raw, &res)
		}
		if *asJSON && raw != nil {
			printJSON(stdout, raw)
		} else if len(res.Resources) > 0 {
			printApplied(stdout, res.Resources)
		}
		if err != nil {
			return fmt.Errorf("fleet apply %s: %w", rest[1], err)
		}
		if !*asJSON && !res.Changed {
			fmt.Fprintln(stdout, "nothing changed")
		}
		return nil
	case "reset":
		if len(rest) != 1 {
			return usageError{errors.New("fleet reset takes no arguments")}
		}
		body := map[string]string{"fleet": "empty"}
		if *demo {
			body["fleet"] = "demo"
		}
		raw, err := c.call(ctx, "POST", "/_latchkey/reset", body)
		if err != nil {
			return fmt.Errorf("fleet reset: %w", err)
		}
		if *asJSON {
			printJSON(stdout, raw)
			return nil
		}
		var res struct {
			Removed int `json:"removed"`
			Applied *struct {
				Resources []appliedRow `json:"resources"`
			} `json:"applied"`
		}
		if err := decodeInto(raw, &res); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "reset: %d documents removed\n", res.Removed)
		if res.Applied != nil {
			printApplied(stdout, res.Applied.Resources)
		}
		return nil
	case "demo":
		raw, err := c.call(ctx, "GET", "/_latchkey/fleet/demo", nil)
		if err != nil {
			return fmt.Errorf("fleet demo: %w", err)
		}
		stdout.Write(raw)
		return nil
	}
	return usageError{fmt.Errorf("fleet: unknown subcommand %q (want apply, reset or demo)", rest[0])}
}

func printApplied(w io.Writer, rows []appliedRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tKIND\tNAME\tID\tCHANGES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Action, r.Kind, r.Name, r.ID, strings.Join(r.Changes, ","))
	}
	tw.Flush()
}
