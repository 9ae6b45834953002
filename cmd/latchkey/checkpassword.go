package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const checkPasswordHelp = `Usage: latchkey check-password [flags] RESOURCE

Asks the running server whether a password is a resource's password, and
exits 0 when it is, 1 when it is not. The check looks where the password
takes effect: an ECS instance's console is logged in to with VNC
Authentication; an E-HPC visual service is logged in to on every login node
where it runs (the recorded password is compared where it does not); a BCC
guest's and a cluster user's password is checked against its hash.

The password is read from the environment variable LATCHKEY_PASSWORD or
from --password-file (- for standard input), never from the command line,
where other users of the machine could see it.

Targets (--target; the default depends on the resource):
  console   ECS, BCC: the live console password (ECS default)
  pending   ECS: the password waiting for a restart (not I/O optimized)
  guest     BCC: the guest administrator's password (BCC default)
  visual    E-HPC: the visual service's password (cluster default)
  user      E-HPC: the password of the cluster user --user (default with --user)

Flags:
`

const checkPasswordExamples = `
Examples:
  LATCHKEY_PASSWORD=Abc123 latchkey check-password i-bp1abcdefghijklmnopq
  echo 'Passw0rd!' | latchkey check-password --password-file - i-YufwpQAe
  latchkey check-password --password-file pw.txt --target pending i-bp1abcdefghijklmnopq
  LATCHKEY_PASSWORD=Vis123 latchkey check-password ehpc-hz-jeJki6Xq1A
  LATCHKEY_PASSWORD='Alice-Pass-1' latchkey check-password --user alice ehpc-hz-jeJki6Xq1A
`

// errNoMatch is check-password's answer "no": main exits 1.
var errNoMatch = errors.New("the password does not match")

// runCheckPassword is `latchkey check-password`.
func runCheckPassword(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-password", flag.ContinueOnError)
	open := adminFlags(fs, getenv)
	target := fs.String("target", "", "what to check: console, pending, guest, visual or user")
	user := fs.String("user", "", "E-HPC: the cluster user whose password to check")
	node := fs.String("node", "", "E-HPC visual: check this login node only")
	file := fs.String("password-file", "", "read the password from the first line of `FILE` (- for standard input) instead of LATCHKEY_PASSWORD")
	quiet := fs.Bool("quiet", false, "print nothing; the exit status answers")
	if done, err := parseFlags(fs, interleave(args, boolFlags(fs)), checkPasswordHelp, checkPasswordExamples, stdout); done || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("check-password takes one RESOURCE (see 'latchkey check-password --help')")}
	}
	pw, err := readPassword(*file, getenv)
	if err != nil {
		return err
	}
	c, err := open()
	if err != nil {
		return err
	}
	var res struct {
		Match bool `json:"match"`
		Nodes []struct {
			Node    string `json:"node"`
			Match   bool   `json:"match"`
			Checked string `json:"checked"`
		} `json:"nodes"`
	}
	body := map[string]string{"resource": fs.Arg(0), "target": *target, "user": *user, "node": *node, "password": pw}
	if err := c.callJSON(ctx, "POST", "/_latchkey/check-password", body, &res); err != nil {
		return fmt.Errorf("check-password %s: %w", fs.Arg(0), err)
	}
	if !*quiet {
		for _, n := range res.Nodes {
			fmt.Fprintf(stdout, "%s: %s (%s)\n", n.Node, matchWord(n.Match), n.Checked)
		}
		fmt.Fprintln(stdout, matchWord(res.Match))
	}
	if !res.Match {
		return errNoMatch
	}
	return nil
}

func matchWord(ok bool) string {
	if ok {
		return "match"
	}
	return "no match"
}

// readPassword reads the password to check from file ("-": standard
// input) or LATCHKEY_PASSWORD.
func readPassword(file string, getenv func(string) string) (string, error) {
	if file == "" {
		pw := getenv("LATCHKEY_PASSWORD")
		if pw == "" {
			return "", usageError{errors.New("check-password: set LATCHKEY_PASSWORD or give --password-file")}
		}
		return pw, nil
	}
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("check-password: the password file is empty")
	}
	return pw, nil
}
