package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
	"time"
)

const auditHelp = `Usage: latchkey audit [flags]

Shows the running server's audit log, oldest first: every mutating API call
(who: account, RAM user, access key; action; resource; result code;
RequestId; source IP; time), every refused RunasUser lockout, and every call
of the internal API (user latchkey-admin). It never holds a secret.

--since and --until take an RFC 3339 time or a duration meaning that long
ago (15m, 2h). --principal takes an account id, an access key id or a RAM
user name.

Flags:
`

const auditExamples = `
Examples:
  latchkey audit --since 15m
  latchkey audit --resource i-bp1abcdefghijklmnopq
  latchkey audit --principal LTAI5tExampleKeyId0000 --result InstanceNotReady
  latchkey audit --account root --action ModifyInstanceVncPasswd --json
`

// runAudit is `latchkey audit`.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	open := adminFlags(fs, getenv)
	filters := map[string]*string{}
	for _, f := range []struct{ name, usage string }{
		{"resource", "only calls on this resource `id`"},
		{"principal", "only calls by this account id, access key id or RAM user"},
		{"account", "only calls in this `account` (root for the root account)"},
		{"user", "only calls by this RAM `user`"},
		{"access-key-id", "only calls signed with this access key `id`"},
		{"product", "only this `product` (ecs, ehpc, ram, bcc, latchkey)"},
		{"action", "only this `action`"},
		{"result", "only this `result` (Success or an error code)"},
		{"since", "only calls at or after this `time`"},
		{"until", "only calls before this `time`"},
		{"limit", "at most the newest `N` events"},
	} {
		filters[f.name] = fs.String(f.name, "", f.usage)
	}
	asJSON := fs.Bool("json", false, "print the server's JSON answer")
	if done, err := parseFlags(fs, interleave(args, boolFlags(fs)), auditHelp, auditExamples, stdout); done || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{errors.New("audit takes flags only (see 'latchkey audit --help')")}
	}
	c, err := open()
	if err != nil {
		return err
	}
	q := url.Values{}
	for name, v := range filters {
		if *v != "" {
			key := name
			if name == "access-key-id" {
				key = "access_key_id"
			}
			q.Set(key, *v)
		}
	}
	raw, err := c.call(ctx, "GET", "/_latchkey/audit?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if *asJSON {
		printJSON(stdout, raw)
		return nil
	}
	var res struct {
		Events []struct {
			Time        time.Time `json:"time"`
			RequestID   string    `json:"request_id"`
			AccountID   string    `json:"account_id"`
			User        string    `json:"user"`
			AccessKeyID string    `json:"access_key_id"`
			SourceIP    string    `json:"source_ip"`
			Product     string    `json:"product"`
			Action      string    `json:"action"`
			Resource    string    `json:"resource"`
			Result      string    `json:"result"`
			Detail      string    `json:"detail"`
		} `json:"events"`
	}
	if err := decodeInto(raw, &res); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tPRODUCT\tACTION\tRESOURCE\tRESULT\tACCOUNT\tUSER\tACCESS KEY\tSOURCE\tREQUEST ID\tDETAIL")
	for _, e := range res.Events {
		user := e.User
		if user == "" {
			user = "(root)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Product, e.Action,
			e.Resource, e.Result, e.AccountID, user, e.AccessKeyID, e.SourceIP, e.RequestID, e.Detail)
	}
	return tw.Flush()
}
