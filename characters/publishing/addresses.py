"""The one outbound-address policy: where Greenroom may connect on a user's behalf (webhooks, Mastodon, Bluesky).

A channel's host is checked when the channel is added (`check_host`: names like `localhost` and every spelling of
an IP literal) and again right before each connection (`resolve_checked`: every address DNS gives). An operator
allows loopback and private targets with OUTBOUND_ALLOW_PRIVATE_ADDRESSES=true.
"""

import ipaddress
import socket
from collections.abc import Callable

from characters.core.errors import DomainError

ALLOW_SETTING = "OUTBOUND_ALLOW_PRIVATE_ADDRESSES"
_ALLOW_HINT = f"an operator can allow such addresses with {ALLOW_SETTING}=true."
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# ipaddress's is_global does not look inside these: each carries (or may route to) an IPv4 address of its own.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
# RFC 8215's local-use NAT64 block: the operator picks where the IPv4 sits inside it, so it cannot be read out.
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class AddressRefused(DomainError):
    """The policy refuses this host or one of its addresses; trying again will not help."""


class HostUnresolvable(DomainError):
    """The host has no address right now (DNS failed); trying again later may help."""


def is_public_address(address: IPAddress) -> bool:
    """Return whether an address is on the public internet, looking through IPv6 forms that embed an IPv4 one."""
    if isinstance(address, ipaddress.IPv6Address):
        if (address.ipv4_mapped is not None or address in _IPV4_COMPATIBLE or address in _TEREDO
                or address in _NAT64_LOCAL_USE or address.is_site_local):
            # Mapped and compatible forms reach IPv4 hosts directly, Teredo tunnels anywhere, and fec0::/10
            # (deprecated site-local) is still routed inside some networks; is_global passes the last three.
            return False
        if address.sixtofour is not None:
            return is_public_address(address.sixtofour)
        if address in _NAT64_WELL_KNOWN:
            return is_public_address(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    # is_global leaves out private, loopback, link-local, shared (100.64/10) and "this network" addresses, but not
    # every multicast or reserved one.
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def literal_address(host: str) -> IPAddress | None:
    """Return the address a host spells, also in the forms inet_aton accepts (2130706433, 0x7f.1, 017700000001)."""
    host = host.strip().rstrip(".").removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(char in "0123456789abcdefxABCDEFX." for char in host):
        try:
            # Clients (curl, browsers, getaddrinfo) read these as IPv4 too; ipaddress only knows the dotted-quad.
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_host(host: str, *, allow_private: bool) -> None:
    """Refuse a host that names this machine or spells a non-public address, whatever the DNS says later."""
    if allow_private:
        return
    name = host.strip().rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise AddressRefused(f"{host} is this machine; {_ALLOW_HINT}")
    address = literal_address(name)
    if address is not None and not is_public_address(address):
        raise AddressRefused(f"{host} is a private, loopback or otherwise non-public address; {_ALLOW_HINT}")


def resolve_host(host: str, port: int) -> list[str]:
    """Return every address `host` resolves to (an IP literal resolves to itself, without DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise HostUnresolvable(f"Cannot resolve {host}: {error}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_checked(host: str, port: int, *, allow_private: bool, resolver: Resolver = resolve_host) -> list[str]:
    """Resolve `host` and return its addresses if the policy allows every one; connect only to these."""
    check_host(host, allow_private=allow_private)
    addresses = resolver(host, port)
    if not addresses:
        raise HostUnresolvable(f"{host} has no address.")
    if not allow_private:
        refused = [address for address in addresses if not is_public_address(ipaddress.ip_address(address))]
        if refused:
            raise AddressRefused(f"Refusing to connect to {host}: it resolves to a private, loopback or link-local "
                                 f"address ({', '.join(refused)}); {_ALLOW_HINT}")
    return addresses

