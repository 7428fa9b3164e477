package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// User is an Entra user as teamsface matches it against STARFACE.
type User struct {
	ID                string
	DisplayName       string
	Mail              string
	UserPrincipalName string
	ProxyAddresses    []string // "SMTP:primary@x", "smtp:alias@x"
	AccountEnabled    bool
}

// userSelect is the $select every user query sends. Without it Graph returns a default set that
// lacks proxyAddresses and accountEnabled.
const userSelect = "id,displayName,mail,userPrincipalName,proxyAddresses,accountEnabled"

// wireUser is a user as Graph sends it. accountEnabled is a pointer because Graph answers null for
// properties the token may not read (User.ReadBasic.All, GroupMember.Read.All only): that is
// "unknown", and must not make every user look disabled.
type wireUser struct {
	ID                string   `json:"id"`
	DisplayName       string   `json:"displayName"`
	Mail              string   `json:"mail"`
	UserPrincipalName string   `json:"userPrincipalName"`
	ProxyAddresses    []string `json:"proxyAddresses"`
	AccountEnabled    *bool    `json:"accountEnabled"`
}

func (w wireUser) user() User {
	return User{
		ID:                w.ID,
		DisplayName:       w.DisplayName,
		Mail:              w.Mail,
		UserPrincipalName: w.UserPrincipalName,
		ProxyAddresses:    w.ProxyAddresses,
		AccountEnabled:    w.AccountEnabled == nil || *w.AccountEnabled,
	}
}

// ListUsers lists every user of the tenant, following @odata.nextLink until the last page.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	first := c.url("/v1.0/users", "$select="+userSelect+"&$top=999")
	return c.listUsers(ctx, "list users", first, nil)
}

// ListGroupUsers lists the users that are members of the group, directly or through nested groups.
// The cast to microsoft.graph.user is an advanced query: Graph needs ConsistencyLevel: eventual and
// $count=true for it (Microsoft Learn, "Advanced query capabilities on Microsoft Entra ID objects").
func (c *Client) ListGroupUsers(ctx context.Context, groupID string) ([]User, error) {
	op := "list members of group " + groupID
	if strings.TrimSpace(groupID) == "" {
		return nil, wrapOp("list group members", errors.New("empty group id"))
	}
	first := c.url("/v1.0/groups/"+url.PathEscape(groupID)+"/transitiveMembers/microsoft.graph.user",
		"$select="+userSelect+"&$count=true&$top=999")
	return c.listUsers(ctx, op, first, map[string]string{"ConsistencyLevel": "eventual"})
}

func (c *Client) listUsers(ctx context.Context, op, next string, header map[string]string) ([]User, error) {
	var all []User
	for page := 1; next != ""; page++ {
		var p struct {
			Value    []wireUser `json:"value"`
			NextLink string     `json:"@odata.nextLink"`
		}
		if err := c.do(ctx, call{method: http.MethodGet, url: next, header: header}, &p); err != nil {
			return nil, wrapOp(fmt.Sprintf("%s (page %d)", op, page), err)
		}
		for _, w := range p.Value {
			all = append(all, w.user())
		}
		reportProgress(ctx, len(all), 0)
		if p.NextLink == next {
			return nil, wrapOp(op, fmt.Errorf("page %d links to itself", page))
		}
		if p.NextLink != "" && !c.sameOrigin(p.NextLink) {
			// Following it would hand our bearer token to another host.
			return nil, wrapOp(op, fmt.Errorf("page %d: next link leaves the Graph endpoint %s", page, c.endpoint))
		}
		next = p.NextLink
	}
	return all, nil
}
