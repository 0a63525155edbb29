"""Phone normalisation and the event contract."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from shared.bus.consumer import _topic_match
from shared.events import Event
from shared.phones import InvalidPhone, mask, normalize, try_normalize


@pytest.mark.parametrize("raw", ["+86 138 0013 8000", "13800138000", "138-0013-8000", "0086 13800138000",
                                 "(+86)138 0013 8000"])
def test_chinese_mobiles_in_any_format_normalise_to_one_e164(raw):
    assert normalize(raw) == "+8613800138000"


def test_numbers_already_in_e164_are_only_validated_with_the_same_verdict_as_parsing():
    """The fast path for '+861…' agrees with phonenumbers' parser on valid and invalid ranges."""
    import phonenumbers

    for national in ("13800138000", "19912345678", "10012345678", "12012345678", "14012345678", "16612345678"):
        parsed = phonenumbers.parse(f"+86{national}", "CN")
        expected = f"+86{national}" if phonenumbers.is_valid_number(parsed) else None
        assert try_normalize(f"+86{national}") == expected


@pytest.mark.parametrize("raw", ["", "12345", "abc", "+86 000 0000 0000"])
def test_things_that_are_not_phones_are_refused(raw):
    with pytest.raises(InvalidPhone):
        normalize(raw)


def test_masked_phone_keeps_prefix_and_last_four():
    assert mask("+8613800138000") == "+86 138****8000"


def _lead_event(**data):
    base = {"lead_id": "l1", "name": "张三", "phone": "+8613800138000", "source": "walk_in"}
    return Event(type="leads.lead.created", group_id="g1", store_id="s1", data={**base, **data})


def test_an_event_survives_the_round_trip_through_its_message():
    ev = _lead_event()
    back = Event.from_message(ev.to_message())
    assert (back.id, back.type, back.group_id, back.data["phone"]) == (str(ev.id), ev.type, "g1", "+8613800138000")


def test_unknown_versions_and_bad_payloads_are_refused_with_a_reason():
    msg = _lead_event().to_message()
    with pytest.raises(ValidationError, match="unknown event type or version"):
        Event.from_message({**msg, "version": 9})
    with pytest.raises(ValidationError) as err:
        Event.from_message({**msg, "data": {"lead_id": "l1"}})
    assert "phone" in err.value.messages
    with pytest.raises(ValidationError):
        Event.from_message("not an object")


def test_the_tenant_fields_and_bounded_ids_are_checked_on_both_ends():
    """A producer cannot emit, and a consumer does not accept, an event without its group, a store's event
    without the store, or ids longer than the 36 characters of the services' uuids."""
    msg = _lead_event().to_message()
    for broken, field in (({"group_id": None}, "group_id"), ({"store_id": None}, "store_id"),
                          ({"store_id": "s" * 37}, "store_id"), ({"data": {**msg["data"], "lead_id": "L" * 60}}, "lead_id")):
        with pytest.raises(ValidationError) as err:
            Event.from_message({**msg, **broken})
        assert field in err.value.messages, broken
    for kw, field in (({"group_id": None}, "group_id"), ({"store_id": None}, "store_id")):
        with pytest.raises(ValidationError) as err:
            Event(**{**dict(type="leads.lead.created", group_id="g1", store_id="s1", data=msg["data"]), **kw}).to_message()
        assert field in err.value.messages
    with pytest.raises(ValidationError):
        _lead_event(lead_id="L" * 37).to_message()
    # what a group owns rather than a store needs no store
    customer = Event(type="customers.customer.created", group_id="g1", data={"customer_id": "c1", "name": "张三"})
    assert Event.from_message(customer.to_message()).store_id is None


def test_topic_patterns_match_like_amqp():
    assert _topic_match("#", "leads.lead.created")
    assert _topic_match("leads.#", "leads.lead.created")
    assert _topic_match("identity.store.*", "identity.store.updated")
    assert not _topic_match("identity.store.*", "identity.user.created")


def test_hash_also_matches_zero_words():
    assert _topic_match("leads.#", "leads")
    assert _topic_match("#.created", "leads.lead.created")
    assert not _topic_match("leads.*.created", "leads.created")


def test_a_handler_that_needs_the_group_or_store_of_an_event_gets_it_or_a_clear_error():
    ev = Event(type="leads.lead.created", data={}, group_id="g1", store_id="s1")
    assert (ev.group, ev.store) == ("g1", "s1")
    with pytest.raises(ValueError, match="names no group"):
        _ = Event(type="leads.lead.created", data={}, group_id=None).group
    with pytest.raises(ValueError, match="names no store"):
        _ = Event(type="leads.lead.created", data={}, group_id="g1").store
