package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
)

const inspectHelp = `Usage:
  latchkey inspect [flags]              list every resource
  latchkey inspect [flags] RESOURCE     show one resource as JSON

RESOURCE is an id (i-…, ehpc-…, an account id, an access key id, a login
node's id) or KIND/KEY (ecs.instance/i-…, ram.user/ACCOUNT/NAME). Every
secret is redacted: passwords, hashes, sealed secrets and tokens show as
"[redacted]" when set and empty when not.

Flags:
`

const inspectExamples = `
Examples:
  latchkey inspect
  latchkey inspect --kind ecs.instance --region cn-hangzhou
  ID=$(latchkey inspect -q --kind ecs.instance --name web-1)
  latchkey inspect i-bp1abcdefghijklmnopq
  latchkey inspect ecs.instance/i-bp1abcdefghijklmnopq | jq .resource.Status
`

func decodeInto(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// escapeSegments escapes each segment of a KIND/KEY reference.
func escapeSegments(ref string) string {
	parts := strings.Split(ref, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// runInspect is `latchkey inspect`.
func runInspect(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	open := adminFlags(fs, getenv)
	kind := fs.String("kind", "", "list: only this `kind` (ecs.instance, bcc.instance, ehpc.cluster, iam.account, iam.accesskey, ram.user, ram.policy, latchkey.fault)")
	account := fs.String("account", "", "list: only this `account` (root for the root account)")
	region := fs.String("region", "", "list: only this `region`")
	name := fs.String("name", "", "list: only resources of this `name` (ECS, BCC, clusters, RAM users, policies)")
	quiet := fs.Bool("q", false, "list: print the ids only, one a line")
	asJSON := fs.Bool("json", false, "list: print the server's JSON answer")
	if done, err := parseFlags(fs, interleave(args, boolFlags(fs)), inspectHelp, inspectExamples, stdout); done || err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{errors.New("inspect takes at most one RESOURCE")}
	}
	c, err := open()
	if err != nil {
		return err
	}
	if fs.NArg() == 1 {
		raw, err := c.call(ctx, "GET", "/_latchkey/resources/"+escapeSegments(fs.Arg(0)), nil)
		if err != nil {
			return fmt.Errorf("inspect %s: %w", fs.Arg(0), err)
		}
		printJSON(stdout, raw)
		return nil
	}
	q := url.Values{}
	for k, v := range map[string]string{"kind": *kind, "account": *account, "region": *region, "name": *name} {
		if v != "" {
			q.Set(k, v)
		}
	}
	raw, err := c.call(ctx, "GET", "/_latchkey/resources?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	if *asJSON {
		printJSON(stdout, raw)
		return nil
	}
	var list struct {
		Resources []struct {
			Kind, ID, Name, Account, Region, Status string
		} `json:"resources"`
	}
	if err := decodeInto(raw, &list); err != nil {
		return err
	}
	if *quiet {
		for _, r := range list.Resources {
			fmt.Fprintln(stdout, r.ID)
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tID\tNAME\tACCOUNT\tREGION\tSTATUS")
	for _, r := range list.Resources {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Kind, r.ID, r.Name, r.Account, r.Region, r.Status)
	}
	return tw.Flush()
}
