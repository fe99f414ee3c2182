"""Which URLs medhub fetches and which redirects it follows.

Only ``http://`` and ``https://`` URLs are fetched. Redirects are followed by medhub itself (see
:func:`medhub.core.acquire.acquisition.http.download_file`): at most :data:`MAX_REDIRECTS`, only to http(s) URLs, and never
to a cloud-metadata name or a link-local address (169.254.0.0/16, fe80::/10), unless the original URL is
itself on such a host (loopback and private addresses stay allowed: mirrors live there).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

from medhub.core.acquire.errors import DownloadError, by_hand

MAX_REDIRECTS = 10


REDIRECT_CODES = (301, 302, 303, 307, 308)


# cloud metadata services by name (and the two that are not link-local addresses: AWS IPv6, Alibaba)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data",
                            "instance-data.ec2.internal", "fd00:ec2::254", "100.100.100.200"})


def is_metadata_host(host: str | None) -> bool:
    """Whether ``host`` is a cloud-metadata name or resolves to a link-local address (169.254.0.0/16,
    fe80::/10): where a redirect must not lead. A name that does not resolve is not one."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    return host in METADATA_HOSTS or any(_is_link_local(addr) for addr in _addresses(host))


def _addresses(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        return [info[4][0] for info in socket.getaddrinfo(host, None)]
    except (OSError, UnicodeError):  # unknown name: requests reports it when it connects
        return []


def _is_link_local(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return ip.is_link_local or str(ip) in METADATA_HOSTS


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


def check_source_url(url: str, name: str, fix: str = "") -> str:
    """``url`` when it is an http(s) URL with a host, else a DownloadError naming it and the file ``name``."""
    if not _is_http_url(url):
        raise DownloadError(f'source URL "{url}" of {name} is not an http(s) URL: medhub fetches only http:// and '
                            f"https:// sources; fix the source's url, or {by_hand(fix)}")
    return url


def check_redirect(original: str, current: str, location: str, name: str, fix: str = "") -> str:
    """The absolute URL a redirect from ``current`` to ``location`` leads to, when medhub may follow it:
    http(s) only, and no metadata / link-local host unless ``original`` (the first URL) is on one."""
    target = urljoin(current, location)
    if not _is_http_url(target):
        raise DownloadError(f"{original} redirects to {target} while fetching {name}, which is not an http(s) URL; "
                            f"medhub follows redirects only to http:// and https://: use --mirror URL, or "
                            f"{by_hand(fix)}")
    if is_metadata_host(urlsplit(target).hostname) and not is_metadata_host(urlsplit(original).hostname):
        raise DownloadError(f"{original} redirects to {target} while fetching {name}: a link-local or cloud-metadata "
                            f"address, where medhub does not follow redirects; use --mirror URL, or {by_hand(fix)}")
    return target
