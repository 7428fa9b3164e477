package starface

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// User is one entry of GET /rest/users.
type User struct {
	ID         int // REST id, used in every /users/{userId} path
	Login      string
	Email      string
	FirstName  string
	FamilyName string
}

// Name is "First Family", or the login when both are empty.
func (u User) Name() string {
	n := strings.TrimSpace(strings.TrimSpace(u.FirstName) + " " + strings.TrimSpace(u.FamilyName))
	if n == "" {
		return u.Login
	}
	return n
}

// Group is one entry of GET /rest/groups.
type Group struct {
	ID             int
	Name           string
	InternalNumber string
	ExternalNumber string
}

// Users lists every user the login may see. The list is not paged (STARFACE answers all at once).
func (c *Client) Users(ctx context.Context) ([]User, error) {
	b, err := c.do(ctx, http.MethodGet, "/rest/users", nil)
	var users []User
	if err == nil {
		users, err = decodeUsers(b)
	}
	if err != nil {
		return nil, fmt.Errorf("starface: list users: %w", err)
	}
	return users, nil
}

// Groups lists the PBX's groups. The list's keys are lower case (groupname, ...) unlike the
// rest of the API.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	b, err := c.do(ctx, http.MethodGet, "/rest/groups", nil)
	var groups []Group
	if err == nil {
		groups, err = decodeGroups(b)
	}
	if err != nil {
		return nil, fmt.Errorf("starface: list groups: %w", err)
	}
	return groups, nil
}

// GroupMembers returns the REST ids of the members of the group with this name (compared
// exactly but case-insensitively). GET /rest/groups/{id} lists every assignable user; the
// members are those with assigned: true. An unknown name gives a *GroupNotFoundError listing
// the groups that exist.
func (c *Client) GroupMembers(ctx context.Context, name string) ([]int, error) {
	groups, err := c.Groups(ctx)
	if err != nil {
		return nil, err
	}
	var found []Group
	var names []string
	for _, g := range groups {
		names = append(names, g.Name)
		if strings.EqualFold(strings.TrimSpace(g.Name), strings.TrimSpace(name)) {
			found = append(found, g)
		}
	}
	switch len(found) {
	case 0:
		slices.Sort(names)
		return nil, &GroupNotFoundError{Name: name, Known: names}
	case 1:
	default:
		return nil, fmt.Errorf("starface: group %q is ambiguous: %d groups differ only in case", name, len(found))
	}
	b, err := c.do(ctx, http.MethodGet, "/rest/groups/"+strconv.Itoa(found[0].ID), nil)
	var members []int
	if err == nil {
		members, err = decodeGroupMembers(b)
	}
	if err != nil {
		return nil, fmt.Errorf("starface: get group %q: %w", found[0].Name, err)
	}
	return members, nil
}

func phoneConfigPath(userID int) string {
	return "/rest/users/" + strconv.Itoa(userID) + "/phoneconfig"
}

// PhoneConfig reads one user's phone config.
func (c *Client) PhoneConfig(ctx context.Context, userID int) (PhoneConfig, error) {
	b, err := c.do(ctx, http.MethodGet, phoneConfigPath(userID), nil)
	var pc PhoneConfig
	if err == nil {
		pc, err = decodePhoneConfig(b)
	}
	if err != nil {
		return PhoneConfig{}, fmt.Errorf("starface: get phone config of user %d: %w", userID, err)
	}
	return pc, nil
}

// PutPhoneConfig writes a whole phone config (the four fields and any unknown ones it was read
// with). Any 2xx counts as success: STARFACE documents 204 and lists 200 as "unexpected".
// Changing another user's config needs an administrator login (else 403).
func (c *Client) PutPhoneConfig(ctx context.Context, userID int, pc PhoneConfig) error {
	if _, err := c.do(ctx, http.MethodPut, phoneConfigPath(userID), pc); err != nil {
		return fmt.Errorf("starface: put phone config of user %d: %w", userID, err)
	}
	return nil
}

// CheckWrite proves the login may write phone configs (login --check): it reads one user's
// config and puts it back unchanged.
func (c *Client) CheckWrite(ctx context.Context, userID int) error {
	pc, err := c.PhoneConfig(ctx, userID)
	if err != nil {
		return err
	}
	if _, err := c.do(ctx, http.MethodPut, phoneConfigPath(userID), pc); err != nil {
		return fmt.Errorf("starface: check write access with user %d: %w", userID, err)
	}
	return nil
}

// RightAdministrator is the right that lets a login change other users' phone configs and act
// on their behalf. The Swagger says "Administrator permission" where it refuses such a call; the
// administration shows the right by that name.
const RightAdministrator = "Administrator"

// Rights lists the STARFACE rights of the signed-in login by name (GET /rest/users/me, then GET
// /rest/permissions/users/{id}), for login --check: an administrator's rights, and on STARFACE
// 10 the right "API access with OAuth Password Grant" (RightOAuthPasswordGrant).
func (c *Client) Rights(ctx context.Context) ([]string, error) {
	b, err := c.do(ctx, http.MethodGet, "/rest/users/me", nil)
	var me User
	if err == nil {
		me, err = decodeUser(b)
	}
	if err != nil {
		return nil, fmt.Errorf("starface: read own user: %w", err)
	}
	b, err = c.do(ctx, http.MethodGet, "/rest/permissions/users/"+strconv.Itoa(me.ID), nil)
	var rights []string
	if err == nil {
		rights, err = decodeRights(b)
	}
	if err != nil {
		return nil, fmt.Errorf("starface: read rights of %s: %w", c.login, err)
	}
	return rights, nil
}
