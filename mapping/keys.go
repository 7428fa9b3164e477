package mapping

import (
	"reflect"
	"strings"
)

// KeyDoc documents one configuration key for `teamsface help config`.
type KeyDoc struct {
	Key     string // dotted path; [] marks a list item: teams_to_starface.rules[].dnd
	Type    string // mapping, list of mappings, string, list of strings, bool, int, duration, map of string to string
	Default string // empty when the key has no default
	Meaning string
}

// keyDocs is the hand-written part of Keys; types come from the Config struct
// so they cannot drift from what the loader accepts.
var keyDocs = []KeyDoc{
	{Key: "microsoft", Meaning: "how teamsface signs in to Microsoft Entra and reaches Graph"},
	{Key: "microsoft.cloud", Default: DefaultCloud, Meaning: "global, usgov, usgov-dod or china (germany was retired on 2021-10-29)"},
	{Key: "microsoft.tenant", Meaning: "required: tenant id (GUID) or verified domain such as contoso.onmicrosoft.com; never common with client credentials"},
	{Key: "microsoft.client_id", Meaning: "required: the app registration's application (client) id, a GUID"},
	{Key: "microsoft.auth", Default: DefaultAuth, Meaning: "client-secret, client-certificate (both unattended, application permissions) or device-code (a signed-in account)"},
	{Key: "microsoft.client_secret_env", Default: DefaultClientSecretEnv, Meaning: "environment variable holding the client secret (unless client_secret_file is set)"},
	{Key: "microsoft.client_secret_file", Meaning: "file holding the client secret instead of the variable; must not be readable by group or others (chmod 600)"},
	{Key: "microsoft.certificate_file", Meaning: "client-certificate only: PEM or PKCS#12 file with the certificate and its private key"},
	{Key: "microsoft.group", Meaning: "optional Entra group object id: only its (nested) members take part"},
	{Key: "microsoft.authority_host", Meaning: "optional https origin overriding the cloud's sign-in host, e.g. https://login.microsoftonline.us"},
	{Key: "microsoft.graph_endpoint", Meaning: "optional https origin overriding the cloud's Graph root (no /v1.0), e.g. https://graph.microsoft.us"},
	{Key: "microsoft.concurrency", Default: "8", Meaning: "Teams presence requests in flight at most, 1 to 16 (650 users a request; Graph allows 1,500 requests per 30 s per app and tenant)"},

	{Key: "starface", Meaning: "how teamsface reaches the STARFACE PBX"},
	{Key: "starface.url", Meaning: "required: the PBX's base URL, e.g. https://pbx.example.com (a trailing /rest is tolerated)"},
	{Key: "starface.login", Meaning: `required: login id of a STARFACE administrator; quote it ("0001")`},
	{Key: "starface.password_env", Default: DefaultPasswordEnv, Meaning: "environment variable holding the administrator's password (unless password_file is set)"},
	{Key: "starface.password_file", Meaning: "file holding the password instead of the variable; must not be readable by group or others (chmod 600)"},
	{Key: "starface.ca_file", Meaning: "optional PEM bundle of certificate authorities to trust for the PBX"},
	{Key: "starface.fingerprint", Meaning: "optional SHA-256 of the PBX certificate, 64 hex digits, colons optional; when set, the pin alone decides trust"},
	{Key: "starface.insecure_skip_verify", Default: "false", Meaning: "skip TLS verification; last resort, warns on every run"},
	{Key: "starface.group", Meaning: "optional STARFACE group name: only its members take part"},
	{Key: "starface.concurrency", Default: "4", Meaning: "STARFACE requests in flight at most, 1 to 64"},
	{Key: "starface.auth", Default: DefaultStarfaceAuth, Meaning: "auto (OAuth when a client secret is configured and the PBX's OAuth realm answers, else classic; the choice is remembered), classic (the nonce login, STARFACE up to 9.x and 10.x where it is on) or oauth (STARFACE 10's password grant)"},
	{Key: "starface.client_id", Default: DefaultStarfaceClientID, Meaning: "OAuth only: the realm's client for headless REST use"},
	{Key: "starface.client_secret_env", Default: DefaultStarfaceClientSecretEnv, Meaning: "OAuth only: environment variable holding the client secret from Server → Status → REST-API (unless client_secret_file is set); with auth auto an unset default variable means no secret"},
	{Key: "starface.client_secret_file", Meaning: "OAuth only: file holding the client secret instead of the variable; must not be readable by group or others (chmod 600)"},
	{Key: "starface.onehub", Default: "false", Meaning: "STARFACE 10 only, experimental: read DND and calls of all users at once over OneHub (gRPC, port 9092) and follow their changes in sync watch; needs the OAuth sign-in; REST stays the fallback"},
	{Key: "starface.onehub_url", Meaning: "where OneHub listens: https://HOST:PORT or a cloud PBX's grpcs:// gRpcUrl; default the PBX's host, port 9092; TLS trust as for url"},
	{Key: "starface.scope", Default: DefaultStarfaceScope, Meaning: "OAuth only: the scope of the password grant; login is tried once when the PBX refuses pbx-login"},

	{Key: "users", Meaning: "which STARFACE users take part and how they are matched with Entra users"},
	{Key: "users.match", Default: "[mail, proxyAddresses, userPrincipalName]", Meaning: "Entra fields compared with the STARFACE e-mail, in this order; the first that finds a user decides"},
	{Key: "users.overrides", Meaning: "STARFACE login → Entra UPN, mail or object id; checked before users.match"},
	{Key: "users.exclude", Meaning: "STARFACE logins never touched"},
	{Key: "users.refresh", Default: "10m", Meaning: "how long the cached user match is trusted; 0 matches again on every run"},
	{Key: "users.max_drop", Default: DefaultMaxDrop, Meaning: "a refreshed match that drops more of the users matched before (a percentage, at least 5 users, or a number) is held and the run exits 1; --accept-drop applies it once"},

	{Key: "teams_to_starface", Meaning: "how Teams presence switches STARFACE DND"},
	{Key: "teams_to_starface.rules", Default: "STARFACE's own table (see mapping.example.yaml)", Meaning: "first match wins; a presence no rule matches keeps its DND; PresenceUnknown always keeps"},
	{Key: "teams_to_starface.rules[].when", Meaning: "required: the condition; {} matches every presence"},
	{Key: "teams_to_starface.rules[].when.availability", Meaning: "availabilities the rule applies to (case-sensitive); leave out to match any"},
	{Key: "teams_to_starface.rules[].when.activity", Meaning: "activities the rule applies to (case-sensitive); leave out to match any"},
	{Key: "teams_to_starface.rules[].when.out_of_office", Meaning: "true or false: whether the user is out of office (Outlook automatic replies, Teams' scheduled out of office, an out-of-office calendar event); leave out to match either"},
	{Key: "teams_to_starface.rules[].dnd", Meaning: "required: on (switch DND on), off (release a DND teamsface set) or keep"},

	{Key: "starface_to_teams", Meaning: "optional: show a DND set by hand on STARFACE in Teams"},
	{Key: "starface_to_teams.enabled", Default: "false", Meaning: "turn the STARFACE → Teams direction on"},
	{Key: "starface_to_teams.on_dnd", Default: "{availability: DoNotDisturb, activity: Presenting}", Meaning: "presence shown in Teams while DND is on; a pair setPresence accepts (checked even when disabled)"},
	{Key: "starface_to_teams.on_dnd.availability", Default: "DoNotDisturb", Meaning: "availability of the pair"},
	{Key: "starface_to_teams.on_dnd.activity", Default: "Presenting", Meaning: "activity of the pair"},
	{Key: "starface_to_teams.expiration", Default: "15m", Meaning: "lifetime of teamsface's presence session, 5m to 4h; refreshed well before it runs out"},
	{Key: "starface_to_teams.poll", Default: "60s", Meaning: "every matched user's DND is read at least this often; 10s or more. Needs N/poll phone-config reads per second"},
	{Key: "starface_to_teams.read_rate", Default: "20", Meaning: "phone-config reads per second the PBX may get beyond that least, so a small site reads everyone every pass and sees a hand-set DND at once; poll wins when N/poll is more (said at start)"},
	{Key: "starface_to_teams.on_call", Default: "{}", Meaning: "onehub only: presence shown in Teams while the user is on a STARFACE call, e.g. {availability: Busy, activity: InACall}; a hand-set DND's on_dnd wins; {} is off"},
	{Key: "starface_to_teams.on_call.availability", Meaning: "availability of the pair"},
	{Key: "starface_to_teams.on_call.activity", Meaning: "activity of the pair"},
	{Key: "starface_to_teams.echo_guard", Default: "10m", Meaning: "how long a cleared session's pair is still taken for teamsface's own echo"},

	{Key: "out_of_office", Meaning: "optional: redirect a user's calls while Microsoft says they are out of office, and put back what was there when they return"},
	{Key: "out_of_office.redirect", Default: "off", Meaning: "off, voicemail (the user's own voicemail box) or a number: internal (201) or external (0049301234567; +49... is sent as 0049...); switches on the ALWAYS redirect of each of the user's own numbers, never a group's, never one already on"},

	{Key: "tests", Meaning: "presences and the DND the rules must decide for them; run by `mapping check`"},
	{Key: "tests[].availability", Meaning: "required: the availability to try"},
	{Key: "tests[].activity", Meaning: "the activity to try"},
	{Key: "tests[].out_of_office", Meaning: "whether the user is out of office; false when left out"},
	{Key: "tests[].expect", Meaning: "what the rules must decide"},
	{Key: "tests[].expect.dnd", Meaning: "required: on, off or keep"},
	{Key: "tests[].expect.redirect", Meaning: "on or off: whether the user's calls are redirected (on needs out_of_office.redirect and an out-of-office input)"},
}

// Keys lists every key the loader accepts, with its type, default and
// meaning, in file order.
func Keys() []KeyDoc {
	types := map[string]string{}
	walkKeys(reflect.TypeFor[Config](), "", func(key string, t reflect.Type) { types[key] = typeName(t) })
	out := make([]KeyDoc, len(keyDocs))
	for i, k := range keyDocs {
		k.Type = types[k.Key]
		out[i] = k
	}
	return out
}

// walkKeys calls fn for every yaml key reachable from t, the way the decoder
// descends: structs by their yaml tags, lists of structs as key[].
func walkKeys(t reflect.Type, prefix string, fn func(string, reflect.Type)) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		fn(key, f.Type)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			walkKeys(ft.Elem(), key+"[]", fn)
		} else if ft.Kind() == reflect.Struct && ft != durationType {
			walkKeys(ft, key, fn)
		}
	}
}

func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Struct:
		return "mapping"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "list of mappings"
	case t.Kind() == reflect.Slice:
		return "list of " + strings.ToLower(t.Elem().Kind().String()) + "s"
	case t.Kind() == reflect.Map:
		return "map of string to string"
	}
	return t.Kind().String()
}
