#!/usr/bin/env python3
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Check that every error message of the <fixedBar> code is documented:
# each message reported with virReportError() or virReportSystemError()
# in the given C sources must appear in the given reStructuredText page,
# where the page writes it as a literal (``...``) with '...' or an example
# standing for each value filled in at run time.  Of the sources given
# with --filtered (shared files such as domain_conf.c) only the messages
# that name fixedBar count.

import argparse
import re
import sys

# the message of an error report: the first translated string of the call
REPORT_RE = re.compile(
    r'virReport(?:System)?Error\s*\([^;]*?_\("((?:[^"\\]|\\.)*)"\)', re.S)
# printf conversions with positional arguments, e.g. %1$s, 0x%3$llx
CONVERSION_RE = re.compile(r'(?:0x)?%[0-9]+\$[-+ #0]*[0-9]*(?:hh|h|ll|l|z)?[diouxXsc]')
LITERAL_RE = re.compile(r'``(.+?)``', re.S)


def normalize(text):
    return ' '.join(text.split())


def messages(path):
    with open(path) as f:
        source = f.read()

    for match in REPORT_RE.finditer(source):
        yield match.group(1).encode().decode('unicode_escape')


def pattern(message):
    """Regular expression matching the message as the docs write it."""
    parts = CONVERSION_RE.split(normalize(message))
    # the docs write '...' or an example value
    return re.compile('.+?'.join(re.escape(p) for p in parts))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('page', help='reStructuredText page documenting the errors')
    parser.add_argument('sources', nargs='+', help='C sources reporting them')
    parser.add_argument('--filtered', action='append', default=[],
                        metavar='SOURCE',
                        help='C source of which only the messages naming fixedBar count')
    args = parser.parse_args()

    with open(args.page) as f:
        literals = [normalize(m.group(1)) for m in LITERAL_RE.finditer(f.read())]

    missing = []
    sources = [(s, False) for s in args.sources]
    sources += [(s, True) for s in args.filtered]
    for source, filtered in sources:
        for message in messages(source):
            if filtered and 'fixedBar' not in message:
                continue
            regex = pattern(message)
            if not any(regex.search(literal) for literal in literals):
                missing.append((source, message))

    for source, message in missing:
        print('%s: error message not documented in %s: %s' %
              (source, args.page, message), file=sys.stderr)

    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
