#!/usr/bin/env sh
# Where does an excerpt sit in a longer recording? Usage: examples/match_audio.sh SOURCE_URL TARGET_URL [API]
set -eu
API="${3:-http://127.0.0.1:8080}"
curl -sS -X POST "$API/audio/match" \
  -H 'Content-Type: application/json' \
  -d "{\"source_url\": \"$1\", \"target_url\": \"$2\", \"details\": true}"
echo
