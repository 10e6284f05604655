"""The outbound-address policy: which hosts and addresses Greenroom may connect to on a user's behalf."""

import ipaddress

import pytest

from characters.publishing.addresses import (
    ALLOW_SETTING,
    AddressRefused,
    HostUnresolvable,
    check_host,
    is_public_address,
    literal_address,
    resolve_checked,
)


@pytest.mark.parametrize(("address", "public"), [
    ("2002:5db8:d70e::1", True),  # 6to4 of 93.184.215.14
    ("64:ff9b::5db8:d70e", True),  # NAT64 of 93.184.215.14
    ("172.16.5.5", False),
    ("192.168.1.10", False),
    ("240.0.0.1", False),  # reserved
    ("255.255.255.255", False),
    ("::", False),
    ("fec0::1", False),  # site-local, which is_global lets through
    ("ff02::1", False),
    ("::ffff:93.184.215.14", False),  # mapped forms are refused whatever they embed
    ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
    ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
    ("2002:a00:1::1", False),  # 6to4 of 10.0.0.1
    ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
    ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
    ("64:ff9b:1::5db8:d70e", False),  # local-use NAT64: where the IPv4 sits is the operator's choice
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
])
def test_addresses_hidden_in_other_forms(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(("host", "address"), [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),  # decimal
    ("017700000001", "127.0.0.1"),  # octal
    ("0x7f000001", "127.0.0.1"),  # hex
    ("0x7f.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("127.0.0.1.", "127.0.0.1"),  # trailing dot
    ("0", "0.0.0.0"),  # noqa: S104 - an address to classify, not bind
    ("[::1]", "::1"),
    ("cafe.example", None),
    ("deadbeef", None),
    ("mastodon.social", None),
])
def test_literal_addresses_in_every_spelling(host, address):
    found = literal_address(host)
    assert (None if found is None else str(found)) == address


@pytest.mark.parametrize("host", [
    "localhost", "LOCALHOST", "localhost.", "api.localhost", "127.0.0.1", "2130706433", "017700000001", "0x7f.1",
    "0x7f000001", "127.1", "127.0.0.1.", "10.1.2.3", "169.254.169.254", "0", "::1", "fec0::1", "2002:7f00:1::1",
    "64:ff9b::7f00:1", "2001::1", "::ffff:127.0.0.1",
])
def test_hosts_naming_this_machine_or_a_private_address_are_refused(host):
    with pytest.raises(AddressRefused, match=ALLOW_SETTING):
        check_host(host, allow_private=False)
    check_host(host, allow_private=True)


@pytest.mark.parametrize("host", ["mastodon.social", "bsky.social", "93.184.215.14", "localhost.example.org"])
def test_public_names_and_addresses_pass(host):
    check_host(host, allow_private=False)


def test_every_resolved_address_is_checked():
    resolver = lambda host, port: ["93.184.215.14", "10.0.0.7"]  # noqa: E731 - a one-line fake DNS
    with pytest.raises(AddressRefused, match="10.0.0.7"):
        resolve_checked("social.example", 443, allow_private=False, resolver=resolver)
    assert resolve_checked("social.example", 443, allow_private=True, resolver=resolver) == ["93.184.215.14",
                                                                                             "10.0.0.7"]


def test_public_answers_are_returned_for_pinning():
    resolver = lambda host, port: ["93.184.215.14"]  # noqa: E731 - a one-line fake DNS
    assert resolve_checked("social.example", 443, allow_private=False, resolver=resolver) == ["93.184.215.14"]


def test_no_answer_is_worth_trying_again():
    with pytest.raises(HostUnresolvable):
        resolve_checked("social.example", 443, allow_private=False, resolver=lambda host, port: [])


def test_a_name_is_refused_before_dns_is_asked():
    def resolver(host: str, port: int) -> list[str]:
        raise AssertionError("DNS must not be asked")

    with pytest.raises(AddressRefused):
        resolve_checked("localhost", 80, allow_private=False, resolver=resolver)
