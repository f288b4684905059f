#!/usr/bin/env bash
# regen.sh rebuilds this folder from GitHub's official machine-readable
# descriptions, at the versions pinned below (README.md says what each file is
# and under which licence). It needs node and npm, and either network access to
# codeload.github.com or OCTOKIT_WEBHOOKS_DIR pointing at a checkout of
# octokit/webhooks at the pinned commit.
set -euo pipefail
cd "$(dirname "$0")"

OPENAPI_VERSION=23.0.2          # npm @octokit/openapi (GitHub's REST description, api.github.com)
WEBHOOK_SCHEMAS_VERSION=7.6.1   # npm @octokit/webhooks-schemas
WEBHOOKS_COMMIT=3a58428aa5c399cf5aa12c8663aea1fb1f515254  # octokit/webhooks: payload-examples/

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@octokit/openapi@${OPENAPI_VERSION}" "@octokit/webhooks-schemas@${WEBHOOK_SCHEMAS_VERSION}" >/dev/null)
mkdir -p "$tmp/openapi" "$tmp/schemas"
tar xzf "$tmp/octokit-openapi-${OPENAPI_VERSION}.tgz" -C "$tmp/openapi"
tar xzf "$tmp/octokit-webhooks-schemas-${WEBHOOK_SCHEMAS_VERSION}.tgz" -C "$tmp/schemas"

webhooks="${OCTOKIT_WEBHOOKS_DIR:-}"
if [ -z "$webhooks" ]; then
  mkdir -p "$tmp/webhooks"
  curl -fsSL "https://codeload.github.com/octokit/webhooks/tar.gz/${WEBHOOKS_COMMIT}" | tar xz -C "$tmp/webhooks" --strip-components=1
  webhooks="$tmp/webhooks"
fi

node extract.mjs \
  "$tmp/openapi/package/generated/api.github.com.deref.json" \
  "$tmp/schemas/package/schema.json" \
  "$webhooks/payload-examples/api.github.com" \
  .
cp "$tmp/openapi/package/LICENSE" LICENSE.octokit-openapi
