"""Prints how many emails moto's server at ENDPOINT has received through SES.

Usage: ses_sent_count.py ENDPOINT
"""

import json
import sys
import urllib.request


def main(endpoint: str) -> None:
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json") as response:
        data = json.load(response)
    print(len(data.get("ses", {}).get("Message", [])))


if __name__ == "__main__":
    main(sys.argv[1])
