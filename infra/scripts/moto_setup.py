"""Sets up moto's server at ENDPOINT as the local stack's AWS: the SES sender identity, the event
bus, and the link keys (the local stack's development key as key `dev`, which the seeded sample
events' links are made with). Runs with the moto virtualenv's Python (it has boto3).

Usage: moto_setup.py ENDPOINT
"""

import json
import sys

import boto3

REGION = "eu-central-1"
DEV_LINK_KEYS = {"currentKeyId": "dev", "currentKey": "bG9jYWwtZGV2ZWxvcG1lbnQtb25seS1saW5rLWtleS0wMDAwMDAwMA"}


def main(endpoint: str) -> None:
    def client(service: str):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION)

    client("sesv2").create_email_identity(EmailIdentity="no-reply@cloudhub.localhost")
    client("events").create_event_bus(Name="cloudhub-local")
    client("secretsmanager").create_secret(Name="cloudhub-local-link-keys", SecretString=json.dumps(DEV_LINK_KEYS))


if __name__ == "__main__":
    main(sys.argv[1])
