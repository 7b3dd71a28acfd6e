#!/bin/sh
# Sign a pushed image tag into the CI delegations with signet (any CI system).
# Usage: ci-sign.sh <image-repo GUN> <tag> <digest sha256:...> <size>
# Environment (from the CI credential store):
#   CI_KEY_PEM                                  path to the client bundle's key.pem
#   DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE  passphrase for that key in the scratch trust dir
#   NOTARY_SERVER                               e.g. https://notary.example.com:4443
#   NOTARY_AUTH (optional)                      base64 of user:password for the token service
#   SIGNET_CONFIG (optional)                    config.json with trust_pinning for the GUN
set -eu

GUN=$1 TAG=$2 DIGEST=$3 SIZE=$4
: "${CI_KEY_PEM:?set CI_KEY_PEM to the key.pem of the CI client bundle}"
: "${DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE:?set it from the credential store}"
: "${NOTARY_SERVER:?set NOTARY_SERVER}"
export CI=true   # never prompt

TRUST_DIR=$(mktemp -d)
trap 'rm -rf "$TRUST_DIR"' EXIT INT TERM
set -- -s "$NOTARY_SERVER" -d "$TRUST_DIR"
if [ -n "${SIGNET_CONFIG:-}" ]; then set -- "$@" -c "$SIGNET_CONFIG"; fi

signet "$@" key import "$CI_KEY_PEM" --role targets/releases

attempt=1
while :; do
  status=0
  signet "$@" sign "$GUN" "$TAG" --digest "$DIGEST" --size "$SIZE" -r targets/releases -r targets/jenkins || status=$?
  case $status in
    0) break ;;
    5|6) # network trouble, or someone else published meanwhile: publishing again rebases
      if [ "$attempt" -ge 3 ]; then echo "signing $GUN:$TAG failed after $attempt attempts (exit $status)" >&2; exit "$status"; fi
      attempt=$((attempt + 1)); sleep $((attempt * 5)) ;;
    3) echo "a passphrase or login is missing: see the message above" >&2; exit 3 ;;
    4) echo "verification failed: the server's data or the trust pin is wrong; not retrying" >&2; exit 4 ;;
    *) exit "$status" ;;
  esac
done

signet "$@" lookup "$GUN" "$TAG"
