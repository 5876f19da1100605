"""Compare two images through the MediaLayer Match API, using only the standard library.

    python examples/match_images.py SOURCE_URL TARGET_URL [--api http://127.0.0.1:8080] [--key KEY]

Prints the verdict and exits 0 on a match, 1 on no match, 2 on an error envelope.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request


def match(api: str, source_url: str, target_url: str, key: str | None = None, medium: str = "image") -> dict:
    """POST the two URLs to ``/{medium}/match`` and return the decoded JSON (envelope or error)."""
    body = json.dumps({"source_url": source_url, "target_url": target_url}).encode()
    request = urllib.request.Request(f"{api.rstrip('/')}/{medium}/match", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("X-API-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:  # error envelopes come with a non-2xx status
        return json.loads(err.read())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source_url")
    parser.add_argument("target_url")
    parser.add_argument("--api", default="http://127.0.0.1:8080")
    parser.add_argument("--key", default=None, help="enterprise key (X-API-Key), if the server requires one")
    args = parser.parse_args()
    result = match(args.api, args.source_url, args.target_url, args.key)
    if "error" in result:
        print(f"error {result['error']['code']}: {result['error']['message']}")
        return 2
    print(f"match={result['match']} score={result['similarity_score']} confidence={result['confidence']}")
    return 0 if result["match"] else 1


if __name__ == "__main__":
    sys.exit(main())
