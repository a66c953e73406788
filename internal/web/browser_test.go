package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/webhook"
)

// chromiumPath is Debian's chromium, which the browser tests drive.
const chromiumPath = "/usr/bin/chromium"

// One browser serves every browser test of the binary; each test gets a
// tab of it, without cookies.
var chrome struct {
	once    sync.Once
	ctx     context.Context
	cancel  func()
	err     error
	shotDir string
}

// closeBrowser stops the shared browser; TestMain calls it.
func closeBrowser() {
	if chrome.cancel != nil {
		chrome.cancel()
	}
}

// tab returns a new tab with no cookies. Without chromium the
// test is skipped, unless CI or KIOS_TEST_POSTGRES_URL is set: there it
// must run (a skip would hide the PostgreSQL half).
func tab(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "" && os.Getenv("KIOS_TEST_POSTGRES_URL") == "" {
			t.Skipf("%s is absent and CI is unset: browser tests skipped", chromiumPath)
		}
		t.Fatalf("CI or KIOS_TEST_POSTGRES_URL is set but %s is absent: %v", chromiumPath, err)
	}
	chrome.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath),
			chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 800))
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		chrome.ctx, chrome.cancel = ctx, func() { cancelCtx(); cancelAlloc() }
		chrome.err = chromedp.Run(ctx) // starts the browser
		chrome.shotDir, _ = os.MkdirTemp("", "kios-screens-")
	})
	if chrome.err != nil {
		t.Fatalf("start %s: %v", chromiumPath, chrome.err)
	}
	ctx, cancel := chromedp.NewContext(chrome.ctx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	// Tests run one after the other; each starts without the cookies of
	// the ones before.
	run(t, ctx, "clear cookies", network.ClearBrowserCookies())
	return ctx
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// receiver is a webhook endpoint on loopback that keeps what it gets.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []received
	wake chan struct{}
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{wake: make(chan struct{}, 16)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		r.mu.Unlock()
		io.WriteString(w, `{"status":200,"message":"diterima"}`)
		r.wake <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// await returns the first message, waiting up to 20 s for it.
func (r *receiver) await(t *testing.T) received {
	t.Helper()
	select {
	case <-r.wake:
	case <-time.After(20 * time.Second):
		t.Fatal("the webhook receiver got nothing")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[0]
}

// shoot writes a full-page PNG of the current page at w×h and checks that
// the document is no wider than the viewport.
func shoot(t *testing.T, ctx context.Context, url, name string, w, h int64) {
	t.Helper()
	var png []byte
	var docWidth, viewWidth int64
	emulate := chromedp.EmulateViewport(w, h)
	if w < 500 {
		emulate = chromedp.EmulateViewport(w, h, chromedp.EmulateMobile)
	}
	run(t, ctx, "screenshot "+name, emulate, chromedp.Navigate(url), chromedp.WaitReady("footer"),
		chromedp.Evaluate(`document.documentElement.scrollWidth`, &docWidth),
		chromedp.Evaluate(`window.innerWidth`, &viewWidth),
		chromedp.FullScreenshot(&png, 100))
	file := filepath.Join(chrome.shotDir, fmt.Sprintf("%s-%s-%dx%d.png", strings.ReplaceAll(t.Name(), "/", "-"), name, w, h))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", file)
	if w < 500 && (docWidth > viewWidth || viewWidth != w) {
		t.Errorf("%s at %d px: the document is %d px wide in a %d px viewport", name, w, docWidth, viewWidth)
	}
}

var totalRE = regexp.MustCompile(`^Rp (\d{1,3}(\.\d{3})*)$`)

// TestBrowserMemberJourney: a member signs in, creates a credential (its
// secret shown once, gone after a reload), sets a webhook URL to a
// receiver, sends a test webhook (which arrives correctly signed), and
// makes a deposit that lands on its invoice page with the exact amount.
func TestBrowserMemberJourney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{realTime: true})
		workCtx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.hooks.Run(workCtx); close(done) }()
		t.Cleanup(func() { stop(); <-done })
		rcv := newReceiver(t)
		ctx := tab(t)
		base := s.srv.URL

		// Sign in.
		run(t, ctx, "sign in", chromedp.Navigate(base+"/member/login"),
			chromedp.SendKeys(`input[name=username]`, "budi"),
			chromedp.SendKeys(`input[name=password]`, testPassword),
			chromedp.Click(`form button[type=submit]`),
			chromedp.WaitVisible(`#balance`))
		var balance string
		run(t, ctx, "balance", chromedp.Text(`#balance`, &balance))
		if balance != "Rp 200.000" {
			t.Errorf("balance shows %q", balance)
		}

		// A POST without the CSRF token is refused, from the page itself.
		var status int
		run(t, ctx, "forged post", chromedp.Evaluate(`fetch('/member/deposit', {method: 'POST',
			body: new URLSearchParams({amount: '50000', via: 'bca'})}).then(r => r.status)`, &status,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		if status != http.StatusForbidden {
			t.Errorf("POST without CSRF token: %d, want 403", status)
		}

		// A credential: key and secret once, never after a reload.
		var key, secret, page string
		run(t, ctx, "create credential", chromedp.Navigate(base+"/member/api"),
			chromedp.Click(`#create-credential button[type=submit]`),
			chromedp.WaitVisible(`#issued`),
			chromedp.Value(`#api-key`, &key), chromedp.Value(`#secret-key`, &secret))
		if len(key) != 40 || len(secret) != 72 {
			t.Fatalf("issued key %d and secret %d characters", len(key), len(secret))
		}
		if _, owner, err := s.members.Authenticate(ctx, key); err != nil || owner.ID != s.member.ID {
			t.Fatalf("the key shown does not work: %v", err)
		}
		var copyVisible bool
		run(t, ctx, "copy button", chromedp.Evaluate(`!document.querySelector('#issued button.copy').hidden`, &copyVisible))
		if !copyVisible {
			t.Error("the copy button stays hidden with JavaScript on")
		}
		run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(`#create-credential`), chromedp.OuterHTML(`html`, &page))
		if strings.Contains(page, key) || strings.Contains(page, secret) || strings.Contains(page, `id="issued"`) {
			t.Fatal("the key or secret is shown again after a reload")
		}
		if !strings.Contains(page, key[:6]+"…") {
			t.Error("the new credential is not listed")
		}

		// The webhook URL, whose signing secret shows once.
		var whsec string
		run(t, ctx, "webhook URL", chromedp.SetValue(`#webhook-url input[name=url]`, rcv.srv.URL+"/hook"),
			chromedp.Submit(`#webhook-url`), chromedp.WaitVisible(`#webhook-secret`),
			chromedp.Value(`#webhook-secret-value`, &whsec))
		if !strings.HasPrefix(whsec, "whsec_") {
			t.Fatalf("webhook secret %q", whsec)
		}
		run(t, ctx, "send test webhook", chromedp.Click(`#webhook-test button`), chromedp.WaitVisible(`p.notice`))
		msg := rcv.await(t)
		if err := webhook.Verify(whsec, webhook.HeadersFrom(msg.header), msg.body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("the test webhook's signature: %v (%s)", err, msg.body)
		}
		if !strings.Contains(string(msg.body), `"webhook_type":"test"`) {
			t.Errorf("test webhook body %s", msg.body)
		}
		// The delivery shows with its status, latency and answer.
		deadline := time.Now().Add(20 * time.Second)
		for {
			// A poll: a load the browser aborts under a busy machine
			// (net::ERR_ABORTED) is tried again, like a slow answer.
			err := chromedp.Run(ctx, chromedp.Navigate(base+"/member/api"), chromedp.OuterHTML(`html`, &page))
			if err == nil && strings.Contains(page, "Terkirim") && strings.Contains(page, "diterima") && strings.Contains(page, " ms<") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the delivery is not listed as delivered with its answer (%v)", err)
			}
			time.Sleep(200 * time.Millisecond)
		}

		// A deposit ends on its invoice page with the exact amount.
		var loc, total string
		run(t, ctx, "deposit", chromedp.Navigate(base+"/member"),
			chromedp.SetValue(`#deposit select[name=via]`, "bca"),
			chromedp.SendKeys(`#deposit input[name=amount]`, "150000"),
			chromedp.Submit(`#deposit`), chromedp.WaitVisible(`#total`),
			chromedp.Location(&loc), chromedp.Text(`#total`, &total))
		ref := loc[strings.LastIndex(loc, "/")+1:]
		dep, err := s.funds.Find(ctx, ref)
		if err != nil || !strings.HasPrefix(ref, "DEP") || dep.MemberID != s.member.ID {
			t.Fatalf("landed on %s: %v", loc, err)
		}
		if want := "Rp " + formatRupiah(dep.Price); total != want || !totalRE.MatchString(total) || dep.Amount != 150_000 {
			t.Errorf("invoice shows %q, want %q", total, want)
		}

		// Screenshots, and no sideways scrolling on a phone.
		for _, size := range [][2]int64{{390, 844}, {1280, 800}} {
			shoot(t, ctx, base+"/member", "dashboard", size[0], size[1])
			shoot(t, ctx, base+"/member/api", "api", size[0], size[1])
			shoot(t, ctx, base+"/member/stores", "stores", size[0], size[1])
			shoot(t, ctx, loc, "invoice", size[0], size[1])
		}
		s.verify()
	})
}

// formatRupiah writes n with dots between thousands.
func formatRupiah(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// signInAt signs user in at area ("member" or "admin") in the browser and
// waits for the page behind it to show wait.
func signInAt(t *testing.T, ctx context.Context, base, area, user, wait string) {
	t.Helper()
	run(t, ctx, "sign in "+user, chromedp.Navigate(base+"/"+area+"/login"),
		chromedp.SendKeys(`input[name=username]`, user),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`form button[type=submit]`),
		chromedp.WaitVisible(wait))
}

// awaitPromise makes an Evaluate wait for the promise it returns.
func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// TestBrowserOperatorReview: an operator signs in, selects the member's
// deposit in the review queue and accepts it; the member's dashboard shows
// the new balance; the audit log shows the decision with the operator's
// name. Screenshots of the queue at phone and desktop sizes.
func TestBrowserOperatorReview(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{realTime: true})
		dep := s.deposits(1)[0]
		ctx := tab(t)
		base := s.srv.URL

		signInAt(t, ctx, base, "admin", "ani", `#role`)
		for _, size := range [][2]int64{{390, 844}, {1280, 800}} {
			shoot(t, ctx, base+"/admin/review", "review", size[0], size[1])
			shoot(t, ctx, base+"/admin", "console", size[0], size[1])
		}
		var allVisible bool
		run(t, ctx, "select and accept", chromedp.Navigate(base+"/admin/review"), chromedp.WaitVisible(`#queue`),
			chromedp.Evaluate(`!document.getElementById('select-all').hidden`, &allVisible),
			chromedp.Click(`#queue input[name=ref][value="`+dep.Reference+`"]`),
			chromedp.SendKeys(`#review input[name=comment]`, "dana masuk BCA"),
			chromedp.Click(`#accept-selected`),
			chromedp.WaitVisible(`p.notice`))
		if !allVisible {
			t.Error("the select-all box stays hidden with JavaScript on")
		}
		if got, _ := s.funds.Find(context.Background(), dep.Reference); got.Status != "success" {
			t.Fatalf("the deposit after accepting in the browser: %s", got.Status)
		}

		signInAt(t, ctx, base, "member", "budi", `#balance`)
		var balance string
		run(t, ctx, "balance", chromedp.Text(`#balance`, &balance))
		if want := "Rp " + formatRupiah(startBalance+dep.Price); balance != want {
			t.Errorf("the member's balance shows %q, want %q", balance, want)
		}

		var op, action, page string
		run(t, ctx, "audit log", chromedp.Navigate(base+"/admin/audit"), chromedp.WaitVisible(`#audit`),
			chromedp.Text(`#audit tbody tr:first-child td.operator`, &op),
			chromedp.Text(`#audit tbody tr:first-child td.action`, &action),
			chromedp.OuterHTML(`#audit`, &page))
		if op != "ani" || action != "transaction.accept" || !strings.Contains(page, dep.Reference) || !strings.Contains(page, "dana masuk BCA") {
			t.Errorf("the audit log's first row: %q %q", op, action)
		}
		s.verify()
	})
}

// TestBrowserViewerCannotDecide: a viewer sees the queue without accept
// buttons; a forged POST with the page's own token is refused (403) by the
// role, one without the token by the CSRF check, and nothing changes.
func TestBrowserViewerCannotDecide(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{realTime: true})
		dep := s.deposits(1)[0]
		ctx := tab(t)
		signInAt(t, ctx, s.srv.URL, "admin", "vina", `#role`)
		var buttons, rows int
		var token string
		run(t, ctx, "queue", chromedp.Navigate(s.srv.URL+"/admin/review"), chromedp.WaitVisible(`#queue`),
			chromedp.Evaluate(`document.querySelectorAll('button[name=do]').length`, &buttons),
			chromedp.Evaluate(`document.querySelectorAll('#queue tbody tr').length`, &rows),
			chromedp.Evaluate(`document.querySelector('input[name=csrf]').value`, &token))
		if buttons != 0 || rows != 1 {
			t.Errorf("the viewer sees %d decision buttons and %d rows", buttons, rows)
		}
		var withToken, without int
		post := `fetch('/admin/review', {method: 'POST', body: new URLSearchParams(%s)}).then(r => r.status)`
		run(t, ctx, "forged posts",
			chromedp.Evaluate(fmt.Sprintf(post, `{csrf: '`+token+`', do: 'accept:`+dep.Reference+`', comment: 'x'}`), &withToken, awaitPromise),
			chromedp.Evaluate(fmt.Sprintf(post, `{do: 'accept:`+dep.Reference+`', comment: 'x'}`), &without, awaitPromise))
		if withToken != http.StatusForbidden || without != http.StatusForbidden {
			t.Errorf("forged POST with the token: %d, without: %d; want 403 and 403", withToken, without)
		}
		if got, _ := s.funds.Find(context.Background(), dep.Reference); got.Status != "unpaid" {
			t.Errorf("the deposit after forged posts: %s", got.Status)
		}
		s.verify()
	})
}

// TestBrowserPayPage: the payment page of an unpaid invoice shows the QR
// and a running countdown; after a matching incoming-funds record it shows
// "paid" without a manual reload. Screenshots at phone and desktop sizes.
func TestBrowserPayPage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{realTime: true})
		inv := s.invoice()
		ctx := tab(t)
		url := s.srv.URL + "/pay.php?invoice=" + inv.Invoice
		for _, size := range [][2]int64{{390, 844}, {1280, 800}} {
			shoot(t, ctx, url, "pay", size[0], size[1])
		}
		var qrWidth int
		var first, second string
		run(t, ctx, "unpaid page", chromedp.Navigate(url), chromedp.WaitVisible(`#qr`),
			chromedp.Evaluate(`document.getElementById('qr').naturalWidth`, &qrWidth),
			chromedp.Text(`#countdown`, &first), chromedp.Sleep(1100*time.Millisecond), chromedp.Text(`#countdown`, &second))
		if qrWidth != 320 {
			t.Errorf("the QR image is %d px wide (not loaded?)", qrWidth)
		}
		if first == second || !regexp.MustCompile(`^\d\d:\d\d:\d\d$`).MatchString(second) {
			t.Errorf("the countdown does not run: %q then %q", first, second)
		}
		s.pay(inv)
		deadline := time.Now().Add(15 * time.Second)
		for {
			var status string
			run(t, ctx, "status", chromedp.Text(`#pay-status`, &status))
			if strings.HasPrefix(status, "Lunas") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page still shows %q after the payment", status)
			}
			time.Sleep(250 * time.Millisecond)
		}
		s.verify()
	})
}

// TestBrowserBulkPricePreview: at 390 px a catalog operator fills the
// bulk price form, and the preview lists the member who would be told
// without a horizontal overflow; the product list fits too.
func TestBrowserBulkPricePreview(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{realTime: true})
		s.catalogFixture()
		ctx := tab(t)
		base := s.srv.URL
		signInAt(t, ctx, base, "admin", "ani", `#role`)
		shoot(t, ctx, base+"/admin/catalog", "catalog", 390, 844)
		var recipients string
		var docWidth, viewWidth int64
		run(t, ctx, "bulk preview", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
			chromedp.Navigate(base+"/admin/catalog/prices"), chromedp.WaitVisible(`#prices-form`),
			chromedp.SendKeys(`#prices-form textarea[name=prices]`, "P1 reseller 1234"),
			chromedp.Submit(`#prices-form textarea[name=prices]`),
			chromedp.WaitVisible(`#preview-recipients`),
			chromedp.Text(`#preview-recipients`, &recipients),
			chromedp.Evaluate(`document.documentElement.scrollWidth`, &docWidth),
			chromedp.Evaluate(`window.innerWidth`, &viewWidth))
		if !strings.Contains(recipients, "budi (reseller): 1") {
			t.Errorf("the preview's recipients: %q", recipients)
		}
		if docWidth > viewWidth || viewWidth != 390 {
			t.Errorf("the preview at 390 px: the document is %d px wide in a %d px viewport", docWidth, viewWidth)
		}
		if s.resellerPrice("P1") != 1100 {
			t.Error("the preview changed the price")
		}
	})
}
