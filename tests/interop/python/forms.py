"""What the python interop scripts share: reading Tessera's HTML forms and redirects."""

import html
import re
import urllib.parse


def field(page, name):
    match = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    if not match:
        raise SystemExit("no %s field in:\n%s" % (name, page))
    return html.unescape(match.group(1))


def action(issuer, page):
    match = re.search(r'<form method="post" action="([^"]*)"', page)
    if not match:
        raise SystemExit("no form in:\n%s" % page)
    return urllib.parse.urljoin(issuer + "/", html.unescape(match.group(1)))


def query(location):
    parts = urllib.parse.urlsplit(location)
    base = "%s://%s%s" % (parts.scheme, parts.netloc, parts.path)
    return base, dict(urllib.parse.parse_qsl(parts.query))
