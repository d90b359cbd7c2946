package serve

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/wheelhouse"
)

// costlyHtpasswd writes an htpasswd file with Debian's `htpasswd -B -C
// cost`, as an operator who raised the bcrypt cost does.
func costlyHtpasswd(t *testing.T, cost, user, pass string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "htpasswd")
	out, err := exec.Command(testenv.Tool(t, "htpasswd"), "-B", "-C", cost, "-b", "-c", "--", f, user, pass).CombinedOutput()
	if err != nil {
		t.Fatalf("htpasswd: %v\n%s", err, out)
	}
	return f
}

// readAuthServer serves an empty wheelhouse with --read-auth and the
// htpasswd file users.
func readAuthServer(t *testing.T, users string) string {
	t.Helper()
	st, err := wheelhouse.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, base := startServer(t, st, WithHtpasswd(users), WithReadAuth(true), WithOffline(true))
	return base
}

// timedGet returns how long a GET of u as user takes, and its status.
func timedGet(t *testing.T, u, user, pass string) (time.Duration, int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	start := time.Now()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return time.Since(start), resp.StatusCode
}

// TestAWrongUserTakesAsLongAsAWrongPassword: with an htpasswd file whose
// bcrypt cost is above htpasswd -B's default, a login as a user who does
// not exist takes as long as one with a wrong password, so that timing
// does not tell which user names exist.
func TestAWrongUserTakesAsLongAsAWrongPassword(t *testing.T) {
	// Cost 9: each check some 40 ms, far above the noise of a loaded
	// machine's scheduling, a quarter of cost 11's CPU.
	base := readAuthServer(t, costlyHtpasswd(t, "9", "alice", "pw"))
	// The fastest of a few tries of each, well under the failures an
	// address may make a minute, the two users taking turns so that a
	// burst of load on the machine slows both alike.
	wrongPass, wrongUser := time.Hour, time.Hour
	for range 4 {
		for _, user := range []string{"alice", "mallory"} {
			d, status := timedGet(t, base+"/simple/", user, "wr0ng")
			if status != http.StatusUnauthorized {
				t.Fatalf("GET as %s with a wrong password: %d, want 401", user, status)
			}
			if user == "alice" {
				wrongPass = min(wrongPass, d)
			} else {
				wrongUser = min(wrongUser, d)
			}
		}
	}
	t.Logf("wrong password %v, wrong user %v", wrongPass, wrongUser)
	if wrongUser < wrongPass/2 {
		t.Errorf("a wrong user is answered in %v, a wrong password in %v: timing tells which users exist", wrongUser, wrongPass)
	}
}

// TestConcurrentWrongLoginsAreBoundedByTheFailureLimit: an address that
// sends many wrong logins at once gets no more bcrypt checks than the
// failures it may make a minute; the others are answered 429 at once.
func TestConcurrentWrongLoginsAreBoundedByTheFailureLimit(t *testing.T) {
	// The failure limit holds however fast each check is: cost 8.
	base := readAuthServer(t, costlyHtpasswd(t, "8", "alice", "pw"))
	const attempts = 4 * maxAuthFailures
	// Each a guess of its own: the same one sent at once is checked once.
	counts := loginsAtOnce(t, base+"/simple/", "alice", attempts, func(i int) string { return fmt.Sprintf("wr0ng-%d", i) })
	if counts[http.StatusUnauthorized] > maxAuthFailures || counts[http.StatusUnauthorized]+counts[http.StatusTooManyRequests] != attempts {
		t.Errorf("%d concurrent wrong logins from one address: %v by status; want at most %d checked (401), the rest 429",
			attempts, counts, maxAuthFailures)
	}
}

// TestTheSameCredentialsSentAtOnceAreCheckedOnce: a client that opens many
// connections with the right password before any was checked (pip and uv
// at the start of an install) has them all let in, for one bcrypt check
// counted once against the failure limit.
func TestTheSameCredentialsSentAtOnceAreCheckedOnce(t *testing.T) {
	for _, tc := range []struct {
		name, pass string
		want       int
	}{
		{"the right password", "pw", http.StatusOK},
		{"the same wrong password", "wr0ng", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := readAuthServer(t, costlyHtpasswd(t, "10", "alice", "pw"))
			const attempts = 3 * maxAuthFailures
			counts := loginsAtOnce(t, base+"/simple/", "alice", attempts, func(int) string { return tc.pass })
			if counts[tc.want] != attempts {
				t.Errorf("%d logins at once with %s: %v by status, want all %d", attempts, tc.name, counts, tc.want)
			}
			// Checked once, the failures left allow a login with the
			// right password at once.
			if _, status := timedGet(t, base+"/simple/", "alice", "pw"); status != http.StatusOK {
				t.Errorf("the right password after: %d, want 200", status)
			}
		})
	}
}

// loginsAtOnce sends n GETs of u as user at once, the i-th with the
// password pass(i), and counts their answers by status. Each waits up
// to loginsWait for its answer: the checks share the machine's cores,
// and under -race twenty bcrypt checks at cost 10 at once took over 30 s
// on a loaded machine.
func loginsAtOnce(t *testing.T, u, user string, n int, pass func(i int) string) map[int]int {
	t.Helper()
	const loginsWait = 5 * time.Minute
	client := &http.Client{CheckRedirect: noRedirect.CheckRedirect, Timeout: loginsWait}
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			req, err := http.NewRequest(http.MethodGet, u, nil)
			if err != nil {
				t.Error(err)
				return
			}
			req.SetBasicAuth(user, pass(i))
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	return counts
}

// TestTheUnknownUsersHashHasTheFilesHighestCost: the bcrypt hash an
// unknown user's password is compared against is made at the highest cost
// among the htpasswd file's users, however few have it, so that an admin
// written with a higher -C than everyone else answers a wrong password no
// slower than a name the file does not list.
func TestTheUnknownUsersHashHasTheFilesHighestCost(t *testing.T) {
	for _, c := range []struct {
		name  string
		costs []int
	}{
		{"one admin above three users", []int{4, 4, 4, 6}},
		{"the highest listed first", []int{7, 4, 4, 5, 5}},
		{"every user at one cost", []int{5, 5}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var lines strings.Builder
			for i, cost := range c.costs {
				hash, err := bcrypt.GenerateFromPassword([]byte("pw"), cost)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&lines, "user%d:%s\n", i, hash)
			}
			f := filepath.Join(t.TempDir(), "htpasswd")
			if err := os.WriteFile(f, []byte(lines.String()), 0o600); err != nil {
				t.Fatal(err)
			}
			h, err := readHtpasswd(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := bcrypt.Cost(h.dummyHash())
			if err != nil {
				t.Fatal(err)
			}
			if want := slices.Max(c.costs); got != want {
				t.Errorf("users at costs %v: the unknown user's hash has cost %d, want %d", c.costs, got, want)
			}
		})
	}
}
