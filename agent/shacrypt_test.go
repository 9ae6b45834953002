package agent

import (
	"strings"
	"testing"
)

// TestSHA512Crypt checks sha512Crypt against the vectors of the
// specification and against glibc/libxcrypt crypt(3) (openssl passwd -6,
// perl's crypt), including a salt longer than 16 characters, an empty
// password and a non-ASCII one.
func TestSHA512Crypt(t *testing.T) {
	for _, c := range []struct{ pw, salt, want string }{
		{"Hello world!", "saltstring", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"This is just a test", "toolongsaltstring", "$6$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
		{"Full-Length#Passw0rd-2024xyz", "AbCdEfGh12345678", "$6$AbCdEfGh12345678$miDQJFPvC4QF1iJvF9hh4qIlwx7pQe6wfGlcN4ti24uviwYkhOqCyBnEIx94Guz2MaAYHxfjxoQZEft3ZOpW10"},
		{"pässwörd", "x/y.z", "$6$x/y.z$FUdxbU9pJDiNO35KMcFYWEuB2.6RXSUj2uTDRyuQtoOxu3tojISmya7WkX8DFkeZp/.EjLvxhkp7JanO7wRuN/"},
	} {
		if got := sha512Crypt(c.pw, c.salt); got != c.want {
			// The vectors' passwords are public test strings.
			t.Errorf("sha512Crypt(%q, %q) = %s, want %s", c.pw, c.salt, got, c.want)
		}
	}
	if a, b := sha512Crypt("", "abc"), sha512Crypt("x", "abc"); a == b || !strings.HasPrefix(a, "$6$abc$") || len(a) != len("$6$abc$")+86 {
		t.Errorf("empty password: %s", a)
	}
}

func TestCryptSalt(t *testing.T) {
	s, err := cryptSalt(strings.NewReader(strings.Repeat("\xff\x00\x40", 6)))
	if err != nil || len(s) != 16 || strings.Trim(s, cryptAlphabet) != "" {
		t.Errorf("cryptSalt = %q, %v", s, err)
	}
	if _, err := cryptSalt(strings.NewReader("short")); err == nil {
		t.Error("cryptSalt from a short source: no error")
	}
}

func TestPrivatePasswd(t *testing.T) {
	host := []byte("root:x:0:0:root:/root:/bin/bash\n+nis\nuser1:x:60000:100::/home/user1:/bin/sh")
	out, names, err := privatePasswd(host, "hpcuser01")
	if err != nil {
		t.Fatal(err)
	}
	if want := "root:x:0:0:root:/root:/bin/bash\n+nis\nuser1:x:60000:100::/home/user1:/bin/sh\nhpcuser01:x:60001:65534:latchkey visual service:/nonexistent:/usr/sbin/nologin\n"; string(out) != want {
		t.Errorf("passwd =\n%s\nwant\n%s", out, want)
	}
	if strings.Join(names, ",") != "root,user1,hpcuser01" {
		t.Errorf("names = %v", names)
	}
	out, names, _ = privatePasswd(host, "user1")
	if strings.Count(string(out), "\nuser1:") != 1 || len(names) != 2 {
		t.Errorf("an existing user is added again:\n%s", out)
	}
}
