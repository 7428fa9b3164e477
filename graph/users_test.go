package graph_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/graph/graphtest"
)

func TestListUsersPaging(t *testing.T) {
	e := newEnv(t, everything, nil)
	var want []graph.User
	for i := range 7 {
		u := graphtest.User{
			ID: fmt.Sprintf("id-%d", i), DisplayName: fmt.Sprintf("User %d", i),
			Mail: fmt.Sprintf("u%d@contoso.com", i), UserPrincipalName: fmt.Sprintf("u%d@contoso.onmicrosoft.com", i),
			ProxyAddresses: []string{fmt.Sprintf("SMTP:u%d@contoso.com", i), fmt.Sprintf("smtp:alias%d@contoso.com", i)},
			AccountEnabled: i != 3,
		}
		e.s.AddUser(u)
		want = append(want, graph.User{ID: u.ID, DisplayName: u.DisplayName, Mail: u.Mail,
			UserPrincipalName: u.UserPrincipalName, ProxyAddresses: u.ProxyAddresses, AccountEnabled: u.AccountEnabled})
	}
	e.s.SetPageSize(3)
	got, err := e.c.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListUsers =\n%+v\nwant\n%+v", got, want)
	}
	reqs := e.s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 pages", len(reqs))
	}
	q, _ := url.ParseQuery(reqs[0].Query)
	if q.Get("$top") != "999" || q.Get("$select") != "id,displayName,mail,userPrincipalName,proxyAddresses,accountEnabled" {
		t.Errorf("first query %q", reqs[0].Query)
	}
	for _, r := range reqs[1:] {
		if !strings.Contains(r.Query, "$skiptoken=") {
			t.Errorf("follow-up page %q did not follow @odata.nextLink", r.Query)
		}
	}
}

func TestListUsersBasicProfile(t *testing.T) {
	// With User.ReadBasic.All Graph answers accountEnabled as null: unknown, not disabled.
	e := newEnv(t, []string{"User.ReadBasic.All"}, nil)
	e.s.AddUser(graphtest.User{ID: "u1", Mail: "a@contoso.com", ProxyAddresses: []string{"SMTP:a@contoso.com"}, AccountEnabled: true})
	got, err := e.c.ListUsers(t.Context())
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if !got[0].AccountEnabled || got[0].ProxyAddresses != nil || got[0].Mail != "a@contoso.com" {
		t.Errorf("got %+v, want enabled, no proxy addresses, mail kept", got[0])
	}
}

func TestListGroupUsers(t *testing.T) {
	e := newEnv(t, everything, nil)
	for _, id := range []string{"a", "b", "c", "d", "e", "outsider"} {
		e.s.AddUser(graphtest.User{ID: id, AccountEnabled: true})
	}
	e.s.AddGroup("sales", "a", "b", "emea")
	e.s.AddGroup("emea", "c", "a", "de")
	e.s.AddGroup("de", "d", "e", "sales") // a cycle
	e.s.SetPageSize(2)
	got, err := e.c.ListGroupUsers(t.Context(), "sales")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range got {
		ids = append(ids, u.ID)
	}
	if strings.Join(ids, ",") != "a,b,c,d,e" {
		t.Errorf("members %v, want a,b,c,d,e", ids)
	}
	reqs := e.s.Requests()
	if len(reqs) != 3 {
		t.Errorf("%d requests, want 3 pages", len(reqs))
	}
	for i, r := range reqs {
		q, _ := url.ParseQuery(r.Query)
		if r.Header.Get("ConsistencyLevel") != "eventual" || q.Get("$count") != "true" || r.Status != 200 {
			t.Errorf("page %d: ConsistencyLevel %q, query %q, status %d", i+1, r.Header.Get("ConsistencyLevel"), r.Query, r.Status)
		}
	}

	_, err = e.c.ListGroupUsers(t.Context(), "no-such-group")
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 404 || !strings.Contains(err.Error(), "list members of group no-such-group (page 1)") {
		t.Errorf("unknown group: %v", err)
	}
}

// A nextLink pointing anywhere but the Graph endpoint is not followed: it would get our token.
func TestNextLinkMustStayOnEndpoint(t *testing.T) {
	var hits int
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"value":[{"id":"u1"}],"@odata.nextLink":"https://evil.example/v1.0/users?$skiptoken=x"}`)
	}))
	t.Cleanup(srv.Close)
	c := graph.NewClient(graph.Options{Endpoint: srv.URL, Tokens: &staticTokens{}, HTTPClient: srv.Client()})
	_, err := c.ListUsers(t.Context())
	if err == nil || !strings.Contains(err.Error(), "leaves the Graph endpoint") || hits != 1 {
		t.Fatalf("got %v after %d requests, want a refusal after 1", err, hits)
	}
}

type staticTokens struct{}

func (*staticTokens) Token(context.Context) (string, error) { return "opaque-token", nil }
func (*staticTokens) Invalidate(string)                     {}
