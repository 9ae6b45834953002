package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
)

const faultsHelp = `Usage:
  latchkey faults add --product P --effect E [--resource ID] [--count N | --probability F] [flags]
  latchkey faults list
  latchkey faults clear [--product P] [--resource ID]
  latchkey faults rm ID

Fault rules make the running server's drivers fail on purpose, at the
boundary between latchkey and the consoles, guests and node agents. The call
that a rule hits never reaches the console, so nothing changes: the password
that was live stays live. Each API answers with its documented error:

  effect               ECS               E-HPC               BCC
  unreachable          InstanceNotReady  AgentError          409 (guest did not respond)
  agent-timeout        InstanceNotReady  AgentError          409
  exec-failure         InstanceNotReady  ExecFail            409
  partial-failure      -                 PartFailure         -
  upstream-failure     InstanceNotReady  AliyunError         409
  service-unavailable  -                 ServiceUnavailable  -
  internal-failure     -                 UnknownError        -
  latency              (delays the call by --latency, then lets it through)

A rule hits the next --count calls, or each call with --probability, or
(neither) every call until it is removed. --resource narrows it to one
instance, cluster or login node; --operation to some driver calls:
  ecs:  set-password, open-console
  bcc:  set-password, set-guest-password, open-console
  ehpc: set-password, start-visual, stop-visual
For E-HPC a rule on a cluster counts one operation on all its login nodes
as one call; partial-failure lets the first login node take the change and
fails the others (use a cluster with two login nodes or more).

Flags:
`

const faultsExamples = `
Examples:
  latchkey faults add --product ecs --resource i-bp1abcdefghijklmnopq --effect unreachable --count 1
  latchkey faults add --product ehpc --resource ehpc-hz-jeJki6Xq1A --effect partial-failure --count 1
  latchkey faults add --product ehpc --effect exec-failure --command 'vncpasswd -f' --probability 0.25
  latchkey faults add --product bcc --effect latency --latency 2s
  latchkey faults add --product ecs --effect unreachable --operation open-console
  latchkey faults list
  latchkey faults clear --product ecs
`

// faultRule is a rule as the internal API shows it.
type faultRule struct {
	ID          string   `json:"id"`
	Product     string   `json:"product"`
	Resource    string   `json:"resource,omitempty"`
	Operations  []string `json:"operations,omitempty"`
	Effect      string   `json:"effect"`
	Count       int      `json:"count,omitempty"`
	Probability float64  `json:"probability,omitempty"`
	Latency     string   `json:"latency,omitempty"`
	Command     string   `json:"command,omitempty"`
	Remaining   int      `json:"remaining,omitempty"`
	Hits        int      `json:"hits"`
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, strings.Split(v, ",")...); return nil }

// runFaults is `latchkey faults`.
func runFaults(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("faults", flag.ContinueOnError)
	open := adminFlags(fs, getenv)
	var r faultRule
	var ops stringList
	fs.StringVar(&r.Product, "product", "", "add, clear: ecs, ehpc or bcc")
	fs.StringVar(&r.Resource, "resource", "", "add, clear: an instance, cluster or login node `id` (default: every resource of the product)")
	fs.StringVar(&r.Effect, "effect", "", "add: unreachable, agent-timeout, exec-failure, partial-failure, upstream-failure, service-unavailable, internal-failure or latency")
	fs.IntVar(&r.Count, "count", 0, "add: hit the next `N` calls, then remove the rule")
	fs.Float64Var(&r.Probability, "probability", 0, "add: hit each call with this probability (0–1)")
	fs.StringVar(&r.Latency, "latency", "", "add: delay each hit call by this `duration` (e.g. 500ms); the effect of latency rules")
	fs.StringVar(&r.Command, "command", "", "add: the command an exec-failure names")
	fs.Var(&ops, "operation", "add: only these driver `operations` (repeat, or separate with commas)")
	asJSON := fs.Bool("json", false, "print the server's JSON answer")
	if done, err := parseFlags(fs, interleave(args, boolFlags(fs)), faultsHelp, faultsExamples, stdout); done || err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError{errors.New("faults: give a subcommand: add, list, clear or rm (see 'latchkey faults --help')")}
	}
	switch rest[0] {
	case "add", "list", "ls", "clear", "rm", "remove":
	default:
		return usageError{fmt.Errorf("faults: unknown subcommand %q (see 'latchkey faults --help')", rest[0])}
	}
	c, err := open()
	if err != nil {
		return err
	}
	switch rest[0] {
	case "add":
		if len(rest) != 1 {
			return usageError{errors.New("faults add takes flags only")}
		}
		if r.Product == "" || r.Effect == "" {
			return usageError{errors.New("faults add needs --product and --effect")}
		}
		r.Operations = ops
		raw, err := c.call(ctx, "POST", "/_latchkey/faults", r)
		if err != nil {
			return fmt.Errorf("faults add: %w", err)
		}
		if *asJSON {
			printJSON(stdout, raw)
			return nil
		}
		var added faultRule
		if err := decodeInto(raw, &added); err != nil {
			return err
		}
		printRules(stdout, []faultRule{added})
		return nil
	case "list", "ls":
		raw, err := c.call(ctx, "GET", "/_latchkey/faults", nil)
		if err != nil {
			return fmt.Errorf("faults list: %w", err)
		}
		if *asJSON {
			printJSON(stdout, raw)
			return nil
		}
		var list struct {
			Rules []faultRule `json:"rules"`
		}
		if err := decodeInto(raw, &list); err != nil {
			return err
		}
		printRules(stdout, list.Rules)
		return nil
	case "clear":
		q := url.Values{}
		if r.Product != "" {
			q.Set("product", r.Product)
		}
		if r.Resource != "" {
			q.Set("resource", r.Resource)
		}
		var res struct {
			Removed int `json:"removed"`
		}
		if err := c.callJSON(ctx, "DELETE", "/_latchkey/faults?"+q.Encode(), nil, &res); err != nil {
			return fmt.Errorf("faults clear: %w", err)
		}
		fmt.Fprintf(stdout, "%d rules removed\n", res.Removed)
		return nil
	case "rm", "remove":
		if len(rest) < 2 {
			return usageError{errors.New("faults rm takes rule ids")}
		}
		for _, id := range rest[1:] {
			if _, err := c.call(ctx, "DELETE", "/_latchkey/faults/"+url.PathEscape(id), nil); err != nil {
				return fmt.Errorf("faults rm %s: %w", id, err)
			}
			fmt.Fprintf(stdout, "%s removed\n", id)
		}
		return nil
	}
	return usageError{fmt.Errorf("faults: unknown subcommand %q (want add, list, clear or rm)", rest[0])}
}

func printRules(w io.Writer, rules []faultRule) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPRODUCT\tRESOURCE\tOPERATIONS\tEFFECT\tWHEN\tHITS")
	for _, r := range rules {
		res, ops := r.Resource, strings.Join(r.Operations, ",")
		if res == "" {
			res = "*"
		}
		if ops == "" {
			ops = "*"
		}
		var when []string
		if r.Count > 0 {
			when = append(when, fmt.Sprintf("next %d of %d", r.Remaining, r.Count))
		}
		if r.Probability > 0 {
			when = append(when, fmt.Sprintf("p=%g", r.Probability))
		}
		if len(when) == 0 {
			when = append(when, "always")
		}
		effect := r.Effect
		if r.Latency != "" && r.Latency != "0s" {
			effect += " +" + r.Latency
		}
		if r.Command != "" {
			effect += " (" + r.Command + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.ID, r.Product, res, ops, effect, strings.Join(when, " "), r.Hits)
	}
	tw.Flush()
}
