#!/bin/sh
# Deploy gate (any CI system): succeed only when the deploy policy allows every
# image, and print "<image> <digest>" for each so the deploy step can pin the
# digest that was checked (a tag can move between the check and the pull).
# Usage: policy-gate.sh <policy file> <image>...
# Environment:
#   NOTARY_SERVER              e.g. https://notary.example.com:4443
#   NOTARY_AUTH (optional)     base64 of user:password for the token service
#   TRUST_DIR (optional)       trust dir to cache verified metadata in (default ~/.notary)
# Exit: 0 all allowed, 4 some denied (reasons on stderr), else signet's exit code.
set -u

POLICY=$1
shift
: "${NOTARY_SERVER:?set NOTARY_SERVER}"
VERDICT=$(mktemp)
trap 'rm -f "$VERDICT"' EXIT INT TERM

status=0
signet -s "$NOTARY_SERVER" -d "${TRUST_DIR:-$HOME/.notary}" --output json policy check --policy "$POLICY" "$@" >"$VERDICT" || status=$?
case $status in
  0) jq -r '.results[] | .image + " " + (.digest // "-")' "$VERDICT" ;;
  4) jq -r '.results[] | select(.allowed | not) | "denied: " + .image + ": " + (.reasons | join("; "))' "$VERDICT" >&2 ;;
  *) echo "policy check could not run (exit $status): see the message above" >&2 ;;
esac
exit "$status"
