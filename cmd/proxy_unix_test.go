//go:build unix

package cmd

import (
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// connectProxy is an HTTPS proxy (HTTP CONNECT) that reaches every host at the test doubles'
// loopback address: a proxy is the one that resolves names, as a company's proxy does.
type connectProxy struct {
	*httptest.Server
	mu    sync.Mutex
	hosts []string // the CONNECT targets, in order
}

func newConnectProxy(t *testing.T) *connectProxy {
	p := &connectProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		p.mu.Lock()
		p.hosts = append(p.hosts, r.Host)
		p.mu.Unlock()
		_, port, _ := net.SplitHostPort(r.Host)
		upstream, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		client, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		go func() { io.Copy(upstream, client); upstream.Close() }()
		go func() { io.Copy(client, upstream); client.Close() }()
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *connectProxy) saw(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.hosts {
		if strings.HasPrefix(h, host+":") {
			return true
		}
	}
	return false
}

// teamsface honours HTTPS_PROXY for Microsoft (sign-in and Graph) and the PBX, and NO_PROXY: the
// README says so. Go does not proxy loopback addresses, so the doubles are named by a host name
// the proxy resolves (example.com, which the doubles' certificate names).
func TestHTTPSProxyAndNoProxy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	proxy := newConnectProxy(t)
	named := func(origin string) string {
		u, _ := url.Parse(origin)
		return "https://example.com:" + u.Port()
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.gs.Certificate().Raw})
	h.writeFile("ca.pem", string(ca))
	configure := func(pbx string) {
		h.cfgPath = h.writeFile("mapping.yaml", strings.NewReplacer(
			"authority_host: "+h.gs.URL, "authority_host: "+named(h.gs.URL),
			"graph_endpoint: "+h.gs.URL, "graph_endpoint: "+named(h.gs.URL),
			"url: "+h.ss.URL, "url: "+pbx+"\n  ca_file: "+filepath.Join(h.dir, "ca.pem"),
		).Replace(h.writeConfigText("")))
	}
	configure(named(h.ss.URL))
	run := func(env ...string) (string, error) {
		c := h.process("sync", "once")
		c.Env = append(c.Env, env...)
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := run("HTTPS_PROXY=" + proxy.URL); err != nil {
		t.Fatalf("through the proxy: %v\n%s", err, out)
	}
	if !proxy.saw("example.com") || h.gs.CountRequests("POST", "/"+testTenant+"/oauth2/v2.0/token") == 0 || h.ss.CountRequests("GET", "/rest/users") == 0 {
		t.Fatalf("the run did not go through the proxy: CONNECTs %v", proxy.hosts)
	}
	// NO_PROXY: the PBX is reached directly, so its name (one that never resolves) fails the
	// run; the proxy never hears of it.
	configure("https://pbx.invalid:443")
	out, err := run("HTTPS_PROXY="+proxy.URL, "NO_PROXY=pbx.invalid")
	if err == nil || !strings.Contains(out, "pbx.invalid") {
		t.Errorf("with NO_PROXY the PBX was not reached directly: %v\n%s", err, out)
	}
	if proxy.saw("pbx.invalid") {
		t.Error("the proxy was asked for a host NO_PROXY names")
	}
}
