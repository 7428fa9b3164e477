package onehub

import (
	"strconv"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/teamsface/teamsface/starface/onehub/internal/pb/presencepb"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/useridlookuppb"
)

// The method paths are what the PBX routes on; they come from the package and service names in
// starface-onehub.md.
func TestGeneratedMethodPaths(t *testing.T) {
	tests := []struct{ got, want string }{
		{useridlookuppb.UserIdLookupService_BatchGetUserIdentifiers_FullMethodName,
			"/gamma.onehub.api.v1.useridlookup.UserIdLookupService/BatchGetUserIdentifiers"},
		{presencepb.PresenceService_SubscribePresenceStates_FullMethodName,
			"/gamma.onehub.api.v1.presence.PresenceService/SubscribePresenceStates"},
		{presencepb.PresenceService_UnsubscribePresenceStates_FullMethodName,
			"/gamma.onehub.api.v1.presence.PresenceService/UnsubscribePresenceStates"},
		{presencepb.PresenceService_SubscribePresenceEvents_FullMethodName,
			"/gamma.onehub.api.v1.presence.PresenceService/SubscribePresenceEvents"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("generated method %s, starface-onehub.md says %s", tt.got, tt.want)
		}
	}
	sd := presencepb.File_gamma_onehub_api_v1_presence_presence_proto.Services().ByName("PresenceService")
	if m := sd.Methods().ByName("SubscribePresenceEvents"); !m.IsStreamingServer() || m.IsStreamingClient() {
		t.Error("SubscribePresenceEvents must be a server stream")
	}
}

// Field numbers and types are the wire format: each message of starface-onehub.md, field by
// field ("name number type", type the message or enum name for those kinds, "oneof:name" for
// members of a oneof).
func TestMessagesMatchTheDescription(t *testing.T) {
	const (
		types = "gamma.onehub.api.v1.types."
		lu    = "gamma.onehub.api.v1.useridlookup."
		pr    = "gamma.onehub.api.v1.presence."
	)
	msgs := map[string][]string{
		types + "UserId":                        {"id 1 string"},
		types + "GroupId":                       {"id 1 string"},
		lu + "BatchGetUserIdentifiersRequest":   {"user_identifiers 1 repeated " + lu + "UserIdentifier"},
		lu + "UserIdentifier":                   {"account_id 1 string oneof:identifier", "user_id 2 " + types + "UserId oneof:identifier", "one_hub_user_id 3 " + types + "UserId oneof:identifier"},
		lu + "BatchGetUserIdentifiersResponse":  {"user_identifiers_list 1 repeated " + lu + "UserIdentifiers"},
		lu + "UserIdentifiers":                  {"account_id 1 string", "user_id 2 " + types + "UserId", "one_hub_user_id 3 " + types + "UserId"},
		pr + "SubscribePresenceStatesRequest":   {"user_id_list 1 " + pr + "UserIdList oneof:presence_ids", "group_id_list 2 " + pr + "GroupIdList oneof:presence_ids", "return_presence_states 3 bool"},
		pr + "UnsubscribePresenceStatesRequest": {"user_id_list 1 " + pr + "UserIdList oneof:presence_ids", "group_id_list 2 " + pr + "GroupIdList oneof:presence_ids"},
		pr + "UserIdList":                       {"user_ids 1 repeated " + types + "UserId"},
		pr + "GroupIdList":                      {"group_ids 1 repeated " + types + "GroupId"},
		pr + "SubscribePresenceStatesResponse":  {"presence_states 1 repeated " + pr + "PresenceState"},
		pr + "PresenceState":                    {"user_presence_state 1 " + pr + "UserPresenceState oneof:presence_state", "group_presence_state 2 " + pr + "GroupPresenceState oneof:presence_state"},
		pr + "UserPresenceState":                {"user_id 1 " + types + "UserId", "telephony_state 2 " + pr + "TelephonyState", "chat_state 3 " + pr + "ChatState", "chat_state_message 4 string", "dnd_enabled 5 bool", "redirect_enabled 6 bool"},
		pr + "GroupPresenceState":               {"group_id 1 " + types + "GroupId", "telephony_state 2 " + pr + "TelephonyState", "redirect_enabled 3 bool"},
		pr + "PresenceStateSubscribedEvent":     {"presence_state 1 " + pr + "PresenceState"},
		pr + "TelephonyStateChangedEvent":       {"user_id 1 " + types + "UserId oneof:target", "group_id 2 " + types + "GroupId oneof:target", "telephony_state 3 " + pr + "TelephonyState"},
		pr + "DoNotDisturbStatusChangedEvent":   {"user_id 1 " + types + "UserId", "dnd_enabled 2 bool"},
		pr + "ChatStateChangedEvent":            {"user_id 1 " + types + "UserId", "chat_state 2 " + pr + "ChatState"},
		pr + "ChatStateMessageChangedEvent":     {"user_id 1 " + types + "UserId", "chat_state_message 2 string"},
		pr + "RedirectStatusChangedEvent":       {"user_id 1 " + types + "UserId oneof:target", "group_id 2 " + types + "GroupId oneof:target", "redirect_enabled 3 bool"},
		pr + "PresenceStateUnsubscribedEvent":   {"user_id 1 " + types + "UserId oneof:target", "group_id 2 " + types + "GroupId oneof:target"},
		pr + "PresenceEventResponse": {
			"presence_state_subscribed 2 " + pr + "PresenceStateSubscribedEvent oneof:presence_event",
			"telephony_state_changed 3 " + pr + "TelephonyStateChangedEvent oneof:presence_event",
			"chat_state_changed 4 " + pr + "ChatStateChangedEvent oneof:presence_event",
			"chat_state_message_changed 5 " + pr + "ChatStateMessageChangedEvent oneof:presence_event",
			"do_not_disturb_status_changed 6 " + pr + "DoNotDisturbStatusChangedEvent oneof:presence_event",
			"redirect_status_changed 7 " + pr + "RedirectStatusChangedEvent oneof:presence_event",
			"presence_state_unsubscribed 8 " + pr + "PresenceStateUnsubscribedEvent oneof:presence_event",
		},
	}
	for name, want := range msgs {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		fields := d.(protoreflect.MessageDescriptor).Fields()
		if fields.Len() != len(want) {
			t.Errorf("%s has %d fields, want %d", name, fields.Len(), len(want))
		}
		for i := 0; i < fields.Len() && i < len(want); i++ {
			if got := describe(fields.Get(i)); got != want[i] {
				t.Errorf("%s field %d: %q, want %q", name, i, got, want[i])
			}
		}
	}

	enums := map[string][]string{
		pr + "TelephonyState": {"TELEPHONY_STATE_UNSPECIFIED", "TELEPHONY_STATE_UNAVAILABLE", "TELEPHONY_STATE_AVAILABLE", "TELEPHONY_STATE_RINGING", "TELEPHONY_STATE_ACTIVE", "TELEPHONY_STATE_QUEUE_PAUSE"},
		pr + "ChatState":      {"CHAT_STATE_UNSPECIFIED", "CHAT_STATE_UNAVAILABLE", "CHAT_STATE_AVAILABLE", "CHAT_STATE_FREE_FOR_CHAT", "CHAT_STATE_AWAY", "CHAT_STATE_EXTENDED_AWAY", "CHAT_STATE_DO_NOT_DISTURB"},
	}
	for name, want := range enums {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		vals := d.(protoreflect.EnumDescriptor).Values()
		if vals.Len() != len(want) {
			t.Errorf("%s has %d values, want %d", name, vals.Len(), len(want))
		}
		for i := range want {
			if v := vals.ByNumber(protoreflect.EnumNumber(i)); v == nil || string(v.Name()) != want[i] {
				t.Errorf("%s = %d: got %v, want %s", name, i, v, want[i])
			}
		}
	}
}

func describe(f protoreflect.FieldDescriptor) string {
	s := string(f.Name()) + " " + strconv.Itoa(int(f.Number())) + " "
	if f.IsList() {
		s += "repeated "
	}
	switch f.Kind() {
	case protoreflect.MessageKind:
		s += string(f.Message().FullName())
	case protoreflect.EnumKind:
		s += string(f.Enum().FullName())
	default:
		s += f.Kind().String()
	}
	if o := f.ContainingOneof(); o != nil {
		s += " oneof:" + string(o.Name())
	}
	return s
}
